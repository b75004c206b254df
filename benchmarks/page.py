"""The web page in headless Chromium: what a first visit downloads, how long a photo takes to be
answered on the device and via the server (with the CPU slowed 4x, like a mid-range phone), and
how many answers a second live mode gives.

    .venv/bin/python benchmarks/page.py [--model PATH] [--photos 5] [--throttle 4]

Bytes are counted as the server sends them (bodies, compressed where they are sent compressed),
the service worker's downloads included. The CPU slowdown (CDP Emulation.setCPUThrottlingRate)
applies to the page; the server's own work is not slowed.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _common import CCSN
from cloudatlas.inference import Classifier
from cloudatlas.server import ServiceSettings, create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


class ByteCounter:
    """ASGI wrapper: bytes of every response body sent, by path."""

    def __init__(self, app):
        self.app = app
        self.sent: collections.Counter[str] = collections.Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def counting(message):
            if message["type"] == "http.response.body":
                self.sent[scope["path"]] += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting)


def serve(app):
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


TIMING = """() => {
    const s = window.cloudatlas; let v = null;
    Object.defineProperty(s, 'lastAnswer', { configurable: true, get: () => v,
        set: (x) => { v = x; if (x) s.answeredAt = performance.now(); } });
    window.addEventListener('change', () => { s.chosenAt = performance.now(); }, true);
}"""


def time_photos(page, photos) -> list[float]:
    """Milliseconds from choosing each photo to its answer being on screen."""
    page.evaluate(TIMING)
    out = []
    for photo in photos:
        page.evaluate("window.cloudatlas.lastAnswer = null")
        page.set_input_files("#photo", str(photo))
        page.wait_for_function("() => window.cloudatlas.lastAnswer", timeout=300_000)
        out.append(page.evaluate("window.cloudatlas.answeredAt - window.cloudatlas.chosenAt"))
    return out


def y4m(path: Path, photos, side=256, frames_each=10) -> Path:
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{side} H{side} F5:1 Ip A1:1 C420jpeg\n".encode())
        for photo in photos:
            rgb = np.asarray(Image.open(photo).convert("RGB").resize((side, side)), dtype=np.float32)
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            planes = [0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                      128 + 0.5 * r - 0.418688 * g - 0.081312 * b]
            planes[1:] = [p.reshape(side // 2, 2, side // 2, 2).mean(axis=(1, 3)) for p in planes[1:]]
            body = b"".join(np.clip(np.round(p), 0, 255).astype(np.uint8).tobytes() for p in planes)
            f.write((b"FRAME\n" + body) * frames_each)
    return path


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} kB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MB"


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model")
    ap.add_argument("--photos", type=int, default=5)
    ap.add_argument("--throttle", type=float, default=4)
    args = ap.parse_args()
    clf = Classifier.load(args.model, threads=1)
    counter = ByteCounter(create_app(classifier=clf, settings=ServiceSettings(max_concurrent=1, threads=1)))
    server, url = serve(counter)
    photos = [sorted((CCSN / g).glob("*.jpg"))[5] for g in ("Cu", "Ct", "Sc", "Cb", "Ci", "St", "Ns", "Ac")]
    photos = photos[: args.photos]
    print(f"model: {clf.path.name} ({clf.path.stat().st_size / 1e6:.1f} MB, {clf.img_size}px)")
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        video = y4m(Path(tmp) / "sky.y4m", [sorted((CCSN / "Ct").glob("*.jpg"))[1]])
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS + [
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()

        # -- page weight on a first visit ------------------------------------------------------
        page.goto(url + "/", wait_until="load")
        page.wait_for_function("() => window.cloudatlas && window.cloudatlas.engine")
        page.wait_for_timeout(300)
        model_paths = {"/model.onnx"}
        runtime_paths = {p for p in counter.sent if p.startswith("/static/vendor/")}
        page.evaluate("window.cloudatlas.modelReady")  # the service worker has cached everything
        sent = dict(counter.sent)
        model = sum(v for p, v in sent.items() if p in model_paths)
        runtime_paths |= {p for p in sent if p.startswith("/static/vendor/")}
        runtime = sum(v for p, v in sent.items() if p in runtime_paths)
        shell = sum(sent.values()) - model - runtime
        print("page weight, first visit (bytes sent by the server):")
        print(f"  page alone (HTML, CSS, JS, pictures, labels) {kb(shell):>10}")
        print(f"  + runtime (onnxruntime-web, gzip)          {kb(runtime):>10}")
        print(f"  + model                                    {kb(model):>10}")
        print(f"  = with the model, cached for offline       {kb(sum(sent.values())):>10}")

        # -- photo -> answer -------------------------------------------------------------------
        cdp = context.new_cdp_session(page)
        for engine, rate in (("device", args.throttle), ("server", args.throttle), ("device", 1)):
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            page.evaluate(f"localStorage.setItem('cloudatlas.useServer', '{int(engine == 'server')}')")
            page.reload()
            page.wait_for_function("() => window.cloudatlas && window.cloudatlas.engine")
            assert page.evaluate("window.cloudatlas.engine") == engine
            if engine == "device":
                page.evaluate("window.cloudatlas.modelReady")
            ms = time_photos(page, photos)
            where = "on the device" if engine == "device" else "via the server"
            print(f"photo -> answer {where:<15} (CPU {rate:g}x slower): median {statistics.median(ms):6.0f} ms"
                  f"   first {ms[0]:6.0f} ms   ({len(ms)} photos)")
        page.evaluate("localStorage.removeItem('cloudatlas.useServer')")

        # -- live mode -------------------------------------------------------------------------
        for rate in (args.throttle, 1):
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            page.reload()
            page.evaluate("window.cloudatlas.modelReady")
            page.click("#live-start")
            page.wait_for_function("() => window.cloudatlas.live && window.cloudatlas.live.fps > 0", timeout=120_000)
            page.wait_for_timeout(6000)
            fps = page.evaluate("window.cloudatlas.live.fps")
            page.click("#live-stop")
            print(f"live mode (CPU {rate:g}x slower): {fps:.1f} answers a second (at most 4 by design)")
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
