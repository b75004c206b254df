"""cloudatlas serve: starts in seconds, prints its URL, serves; clear one-line errors otherwise."""
import os
import subprocess
import sys
import time

import httpx

from ..conftest import free_port


def _serve(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "cloudatlas", "serve", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def test_serve_starts_in_seconds_and_prints_its_url(gated_model_path, ccsn_dir):
    port = free_port()
    started = time.perf_counter()
    proc = _serve("--model", gated_model_path, "--port", port, "--max-upload-mb", 5, "--log-level", "warning")
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first and "with the cloud gate" in first
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                health = httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.perf_counter() - started < 20, "not up after 20 s"
                time.sleep(0.1)
        ready_s = time.perf_counter() - started
        assert health.json()["gate"] is True
        assert ready_s < 15  # a few seconds on a laptop; generous for a busy test machine
        photo = ccsn_dir / "As" / "As-N001.jpg"
        r = httpx.post(url + "/api/v1/classify", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 11
        big = httpx.post(url + "/api/v1/classify", files={"file": ("big.jpg", b"\xff" * (6 * 1024 * 1024), "image/jpeg")})
        assert big.status_code == 413 and "5 MB limit" in big.json()["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serve_without_a_model_says_so_in_one_line(tmp_path):
    proc = _serve("--model", tmp_path / "missing.onnx", "--port", free_port())
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().startswith("error: Model file not found") and "Traceback" not in err



def _startup_text(*args) -> str:
    """What ``serve`` prints before it serves: read once /healthz answers, so nothing blocks."""
    port = free_port()
    proc = _serve(*args, "--port", port, "--log-level", "warning")
    try:
        deadline = time.perf_counter() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.perf_counter() < deadline, proc.stderr.read()
                time.sleep(0.1)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    return out.lower()


def test_serve_on_all_interfaces_says_the_api_is_open_to_the_network(gated_model_path):
    text = _startup_text("--model", gated_model_path, "--host", "0.0.0.0")
    assert "no authentication" in text and "reachable from the network" in text, text


def test_serve_on_localhost_does_not_warn(gated_model_path):
    text = _startup_text("--model", gated_model_path)
    assert "http://127.0.0.1" in text and "authentication" not in text, text


def test_a_port_no_server_can_listen_on_is_one_line_and_exit_2(gated_model_path):
    """--port 99999 ended in an OverflowError traceback from the socket layer."""
    for port in ("99999", "0"):
        proc = _serve("--model", gated_model_path, "--port", port)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (port, err)
        assert err.strip() == f"error: --port {port}: a port is a number from 1 to 65535.", err
