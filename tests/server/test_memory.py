"""A served process against memory bombs: every upload the size limit lets through is answered
in a second or two, and the server process stays under 1 GB, also with two bombs at once."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import free_port
from ..core.test_imageio import png_bomb

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
