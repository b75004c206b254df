"""Slow clients against a real uvicorn server run the way ``cloudatlas serve`` runs it.

Headers or a body trickled one byte every 2 s used to hold a connection forever; now they are
answered 408 and closed after about 10 s, while a slow but real upload still goes through, and
one server holds a bounded number of connections.
"""
from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from PIL import Image

from cloudatlas.server import ServiceSettings, create_app
from cloudatlas.server.app import HEADER_TIMEOUT_S, GuardedH11Protocol, server_options
from cloudatlas.server.uploads import UPLOAD_GRACE_S

from ..conftest import free_port

CLASSIFY = "/api/v1/classify"


@contextlib.contextmanager
def guarded_server(app, protocol: type = GuardedH11Protocol):
    """``app`` in uvicorn with the options ``cloudatlas serve`` uses; yields (host, port)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            **{**server_options(), "http": protocol})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def app(classifier):
    return create_app(classifier=classifier, settings=ServiceSettings(max_concurrent=2, threads=1))


@pytest.fixture(scope="module")
def address(app):
    with guarded_server(app) as addr:
        yield addr


def trickle(address, head: bytes, trickled: bytes, every_s: float = 2.0, give_up_s: float = 30.0):
    """Send ``head`` at once, then ``trickled`` one byte every ``every_s`` (starting half a period
    in, so no byte races the server's deadline); return (seconds until the server answered or
    closed, what it sent)."""
    with socket.create_connection(address, timeout=5) as s:
        started = time.perf_counter()
        s.sendall(head)
        reply = b""
        for i in range(len(trickled) + 1):
            wait_until = started + every_s * (i + 0.5)
            while time.perf_counter() < wait_until:
                ready, _, _ = select.select([s], [], [], wait_until - time.perf_counter())
                if ready:
                    chunk = s.recv(65536)
                    if not chunk:
                        return time.perf_counter() - started, reply
                    reply += chunk
            if time.perf_counter() - started > give_up_s or i == len(trickled):
                break
            try:
                s.send(trickled[i:i + 1])
            except OSError:
                break
        return time.perf_counter() - started, reply


def json_body(reply: bytes) -> dict:
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


FORM_HEAD = (b"POST " + CLASSIFY.encode() + b" HTTP/1.1\r\nHost: t\r\n"
             b"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n")


def _photo(ccsn_dir, at_least: int) -> bytes:
    sky = Image.open(ccsn_dir / "Sc" / "Sc-N004.jpg").convert("RGB").resize((1600, 1200))
    buf = io.BytesIO()
    sky.save(buf, format="JPEG", quality=95, subsampling=0)
    assert buf.tell() >= at_least
    return buf.getvalue()


def _slow_but_steady_upload(address, data: bytes, seconds: float) -> tuple[int, float]:
    """A real client on a slow link: the photo spread evenly over ``seconds``."""
    def body():
        step = len(data) // 50
        for i in range(0, len(data), step):
            time.sleep(seconds / 50)
            yield data[i:i + step]

    boundary = "slowlink"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="sky.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def form():
        yield head
        yield from body()
        yield tail

    started = time.perf_counter()
    r = httpx.post(f"http://{address[0]}:{address[1]}{CLASSIFY}", content=form(), timeout=60,
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    return r.status_code, time.perf_counter() - started


def test_trickled_headers_and_bodies_are_cut_off_but_a_slow_real_upload_is_not(address, ccsn_dir):
    photo = _photo(ccsn_dir, at_least=150_000)
    results = {}
    runs = {
        "headers": lambda: trickle(address, b"", FORM_HEAD),
        "body": lambda: trickle(address, FORM_HEAD, b"--XX\r\n" + b"x" * 100),
        # ~13 s at 12+ KB/s: longer than the grace period, faster than the 8 KB/s floor
        "slow upload": lambda: _slow_but_steady_upload(address, photo, UPLOAD_GRACE_S + 3),
    }
    threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, f())) for k, f in runs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    seconds, reply = results["headers"]
    assert HEADER_TIMEOUT_S - 1 < seconds < HEADER_TIMEOUT_S + 4, (seconds, reply)
    assert reply.startswith(b"HTTP/1.1 408") and b"connection: close" in reply.lower(), reply
    assert json_body(reply)["error"] == "request_timeout"

    seconds, reply = results["body"]
    assert UPLOAD_GRACE_S - 1 < seconds < UPLOAD_GRACE_S + 4, (seconds, reply)
    assert reply.startswith(b"HTTP/1.1 408") and b"connection: close" in reply.lower(), reply
    body = json_body(reply)
    assert body["error"] == "upload_too_slow" and "too slow" in body["message"]

    status, seconds = results["slow upload"]
    assert status == 200 and seconds > UPLOAD_GRACE_S, (status, seconds)


class FourConnections(GuardedH11Protocol):
    max_connections = 4


def test_one_server_holds_a_bounded_number_of_connections(app):
    with guarded_server(app, FourConnections) as address:
        idle = [socket.create_connection(address, timeout=5) for _ in range(4)]
        time.sleep(0.2)  # let the server accept them all
        try:
            with socket.create_connection(address, timeout=5) as extra:
                reply = b""
                while chunk := extra.recv(65536):
                    reply += chunk
            assert reply.startswith(b"HTTP/1.1 503"), reply
            assert json_body(reply)["error"] == "server_busy"
        finally:
            for s in idle:
                s.close()
        time.sleep(0.2)
        assert httpx.get(f"http://{address[0]}:{address[1]}/healthz", timeout=5).status_code == 200
