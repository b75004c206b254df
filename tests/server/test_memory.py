"""A served process against memory bombs: every upload the size limit lets through is answered
in a second or two, and the server process stays under 1 GB, also with two bombs at once."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import free_port
from ..core import hostile
from ..core.test_imageio import _photo_36mp, png_bomb

CLASSIFY = "/api/v1/classify"
GB = 1024 ** 3


@pytest.fixture
def served(gated_model_path):
    """``cloudatlas serve`` in its own process, so its peak memory (VmHWM) is the server's alone."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cloudatlas", "serve", "--model", str(gated_model_path),
                             "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.perf_counter() + 30
    try:
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.perf_counter() < deadline, proc.stderr.read()
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM"))


def timed_post(url: str, data: bytes, name: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    r = httpx.post(url + CLASSIFY, files={"file": (name, data, "image/png")}, timeout=60)
    return r, time.perf_counter() - started


def test_bombs_are_answered_in_seconds_and_the_server_stays_under_1_gb(served, ccsn_dir):
    url, pid = served
    photo = ccsn_dir / "Cu" / "Cu-N001.jpg"
    assert timed_post(url, photo.read_bytes(), photo.name)[0].status_code == 200  # the model is warm

    bomb = png_bomb(12_200, 12_200)  # 149 MP in 580 KB: was 200 after 8.8 s at 3.1 GB
    r, seconds = timed_post(url, bomb, "bomb.png")
    assert r.status_code == 422 and r.json()["error"] == "image_too_large", r.text
    assert seconds < 2

    at_cap = png_bomb(6400, 6250)  # 40 MP: the most a PNG may have; decoded, shrunk, classified
    r, seconds = timed_post(url, at_cap, "40mp.png")
    assert r.status_code == 200 and seconds < 3, (r.text, seconds)

    answers = []
    both = [threading.Thread(target=lambda: answers.append(timed_post(url, at_cap, "40mp.png"))) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join()
    assert [r.status_code for r, _ in answers] == [200, 200]
    assert max(s for _, s in answers) < 6  # the second waits for the first's memory: ~1 s each, here
    assert peak_rss(pid) < 1 * GB


def hostile_uploads(tmp_path) -> list[tuple[str, bytes, str, int]]:
    """(name, body, content type, the status it must get) of every input of issue 14 that once
    held the server: several of each at once, as the probe sent them."""
    j2k = _photo_36mp(tmp_path / "36mp.jp2").read_bytes()
    ico = hostile.ico_holding(png_bomb(12_000, 12_000))
    one = [("tile.tif", hostile.tiff_tile_bomb(), "image/tiff", 422),
           ("50000-pages.tif", hostile.tiff_many_frames(50_000), "image/tiff", 200),
           ("280000-frames.gif", hostile.gif_many_frames(280_000), "image/gif", 200),
           ("favicon.ico", ico, "image/x-icon", 415), ("36mp.jp2", j2k, "image/jp2", 200),
           ("bomb.png", png_bomb(12_200, 12_200), "image/png", 422),
           ("fields", hostile.multipart_fields(300_000), "", 400)]  # 14 MB: under the limit
    times = {"tile.tif": 4, "50000-pages.tif": 2, "280000-frames.gif": 2, "favicon.ico": 8, "36mp.jp2": 4,
             "bomb.png": 2, "fields": 4}
    return [upload for upload in one for _ in range(times[upload[0]])]


# The hostile clients, in a process of their own, writing requests made beforehand to raw
# sockets: on two cores, clients that encode 90 MB of forms (httpx: twice the server's CPU)
# would measure the test's own load, not the server's.
BOUNDARY = "cloudatlas-hostile-form"
_SENDER = r"""
import json, socket, sys, threading
port, requests = int(sys.argv[1]), json.load(open(sys.argv[2]))
statuses = [None] * len(requests)

def send(i):
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        try:
            s.sendall(open(requests[i], "rb").read())
        except OSError:
            pass  # answered and closed before the whole body was read: the answer is still there
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    statuses[i] = int(reply.split(b" ", 2)[1]) if reply else None

threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
print("sending", flush=True)
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(statuses), flush=True)
"""


def form_with(name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart form holding one photo field, and its boundary (an empty content type: ``data``
    is a whole form of its own, made with the boundary XX)."""
    if not content_type:
        return data, "XX"
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode(), BOUNDARY


def hostile_clients(url: str, tmp_path, uploads) -> subprocess.Popen:
    requests = []
    for i, (name, data, content_type, _) in enumerate(uploads):
        body, boundary = form_with(name, data, content_type)
        head = (f"POST {CLASSIFY} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n")
        requests.append(str(tmp_path / f"{i}-{name}.http"))
        Path(requests[-1]).write_bytes(head.encode() + body)
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    port = url.rsplit(":", 1)[1]
    proc = subprocess.Popen([sys.executable, "-c", _SENDER, port, str(tmp_path / "requests.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "sending", proc.stderr.read()
    return proc


def test_a_photo_is_answered_in_2_s_while_every_hostile_input_is_in_flight(served, ccsn_test_photos, tmp_path):
    """Tile bombs, page walks, icon bombs, 36-MP JPEG 2000s and 300 000-field forms, 26 at once:
    a normal photo is answered within 2 s meanwhile, and the server stays under 1 GB."""
    url, pid = served
    photo = ccsn_test_photos["Sc"][1]
    assert timed_post(url, photo.read_bytes(), photo.name)[0].status_code == 200  # the model is warm
    alone = max(timed_post(url, photo.read_bytes(), photo.name)[1] for _ in range(3))
    uploads = hostile_uploads(tmp_path)
    started = time.perf_counter()
    clients = hostile_clients(url, tmp_path, uploads)
    latencies = []
    while clients.poll() is None and len(latencies) < 10:
        r, seconds = timed_post(url, photo.read_bytes(), photo.name)
        assert r.status_code == 200, r.text
        latencies.append(seconds)
    out, err = clients.communicate(timeout=120)
    total = time.perf_counter() - started
    peak = peak_rss(pid)
    print(f"\na photo alone: {alone:.2f} s; {len(uploads)} hostile uploads answered in {total:.1f} s; a photo meanwhile: "
          f"{', '.join(f'{s:.2f}' for s in latencies)} s; server peak {peak / 2**20:.0f} MB")
    assert json.loads(out) == [u[3] for u in uploads], err
    # The 2 s, on a machine that answers the photo alone in 0.2 s or less; on one shared
    # with a training job (4 or 5 times slower), proportionally more. Before the fix it was 39 s.
    limit = 2.0 * max(1.0, alone / 0.2)
    assert latencies and max(latencies) < limit, (latencies, limit)
    assert peak < 1 * GB
