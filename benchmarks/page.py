"""The web page in headless Chromium: what a first visit downloads; how soon a first answer comes,
on a return visit (page load to answer, 12-MP photo, this CPU) and on a first visit over a slow
mobile link (progress in view, an answer from the server for a person who asks for one); how long
a photo takes to be answered on the device and via the server with the CPU slowed 4x (a mid-range
phone); how many answers a second live mode gives.

    .venv/bin/python benchmarks/page.py [--model PATH] [--photos 5] [--throttle 4]
                                        [--down 1.5] [--up 0.75] [--rtt 560 150] [--full]

Bytes are counted as the server sends them (bodies, compressed where they are sent compressed),
the model worker's downloads included. The CPU slowdown (CDP Emulation.setCPUThrottlingRate)
applies to the page; the server's own work is not slowed. The slow link is a proxy of this
script's own between Chromium and the server (DevTools' network throttling does not slow a
service worker's or a worker's downloads): one shared link, --down and --up Mbit/s, --rtt ms
round trip (each value a run of its own), a TCP handshake's round trip per connection, each
connection's bytes in flight capped at the link's bandwidth-delay product so that connections
share it as TCP flows do. With a 560 ms round trip (a poor 3G link) the page's first paint takes
two of them and a handshake, whatever the page does.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _common import CCSN, phone_photo
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


# -- a slow mobile link ----------------------------------------------------------------------------
class Link:
    """One direction of the link: bytes leave one after another at ``rate`` and arrive ``delay`` later."""

    def __init__(self, mbit_s: float, delay_s: float):
        self.rate = mbit_s * 1e6 / 8
        self.delay = delay_s
        self.free_at = 0.0

    def arrival(self, n: int, now: float) -> float:
        start = max(now, self.free_at)
        self.free_at = start + n / self.rate
        return self.free_at + self.delay


class SlowLink:
    """A TCP proxy on 127.0.0.1 in front of ``target_port``, as slow as a mobile link."""

    CHUNK = 1400  # about a packet

    def __init__(self, target_port: int, down: float, up: float, rtt_s: float):
        self.target_port = target_port
        self.rtt = rtt_s
        self.down, self.up = Link(down, rtt_s / 2), Link(up, rtt_s / 2)
        self.window = max(32 * 1024, int(self.down.rate * rtt_s))  # bytes in flight per connection
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self):
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, client_r, client_w):
        await asyncio.sleep(self.rtt)  # the TCP handshake's round trip
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pump(client_r, server_w, self.up), self._pump(server_r, client_w, self.down),
                             return_exceptions=True)
        for w in (client_w, server_w):
            w.close()

    async def _pump(self, reader, writer, link: Link):
        queue: asyncio.Queue = asyncio.Queue()
        in_flight = asyncio.Semaphore(self.window // self.CHUNK)

        async def deliver():
            while True:
                at, data = await queue.get()
                if data is None or writer.is_closing():
                    in_flight.release()  # the pump may be waiting for room: let it see the end
                    break
                await asyncio.sleep(max(0.0, at - self.loop.time()))
                writer.write(data)
                in_flight.release()
            if not writer.is_closing() and writer.can_write_eof():
                writer.write_eof()

        delivering = asyncio.ensure_future(deliver())
        try:
            while not delivering.done() and (data := await reader.read(64 * 1024)):
                for i in range(0, len(data), self.CHUNK):
                    await in_flight.acquire()  # TCP's window: a connection cannot hog the link
                    if delivering.done():  # the other end went away: stop taking the link's time
                        return
                    part = data[i:i + self.CHUNK]
                    queue.put_nowait((link.arrival(len(part), self.loop.time()), part))
        finally:
            queue.put_nowait((0, None))
            await delivering


# -- measuring in the page --------------------------------------------------------------------------
TIMING = """() => {
    const s = window.cloudatlas; let v = null;
    Object.defineProperty(s, 'lastAnswer', { configurable: true, get: () => v,
        set: (x) => { v = x; if (x) s.answeredAt = performance.now(); } });
    window.addEventListener('change', () => { s.chosenAt = performance.now(); }, true);
}"""

# From the first frame of a page: when the model's progress is first in view, and when it first
# says how much comes down (performance.now() counts from the start of the navigation).
FIRST_SEEN = """
    window.seen = {};
    const look = () => {
        const box = document.getElementById('model-progress');
        if (box && !box.hidden && box.offsetParent !== null) {
            const r = box.getBoundingClientRect();
            if (r.top >= 0 && r.bottom <= innerHeight && r.height > 0) window.seen.progress ??= performance.now();
            if (document.getElementById('progress-text').textContent.includes('MB')) window.seen.size ??= performance.now();
        }
        if (!window.seen.size) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
"""


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


def load_to_answer(page, url, photo) -> tuple[float, float]:
    """A return visit: the page loads and the photo is chosen the moment the page can take it.
    Returns (navigation start -> answer, photo chosen -> answer) in milliseconds."""
    page.goto(url + "/", wait_until="commit")
    page.wait_for_function("() => window.cloudatlas && window.cloudatlas.meta !== undefined", polling=10)
    page.evaluate(TIMING)
    page.set_input_files("#photo", str(photo))
    page.wait_for_function("() => window.cloudatlas.lastAnswer", timeout=300_000)
    assert page.evaluate("window.cloudatlas.lastAnswer.where") == "device"
    return tuple(page.evaluate("[window.cloudatlas.answeredAt, window.cloudatlas.answeredAt - window.cloudatlas.chosenAt]"))


def first_visit_on_a_slow_link(browser, url, photo, full: bool) -> dict:
    """A first visit through the slow link: progress in view, then a 12-MP photo chosen at once and
    sent with "Answer now on the server"; with ``full``, also until the model runs on the device."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(FIRST_SEEN)
    page = context.new_page()
    page.goto(url + "/", wait_until="commit", timeout=120_000)
    page.wait_for_function("() => window.cloudatlas", polling=20, timeout=120_000)
    page.evaluate(TIMING)
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#waiting:not([hidden])", timeout=120_000)
    page.click("#answer-on-server")
    page.wait_for_function("() => window.cloudatlas.lastAnswer", timeout=300_000)
    out = page.evaluate("({progress: window.seen.progress, size: window.seen.size, chosen: window.cloudatlas.chosenAt, "
                        "answered: window.cloudatlas.answeredAt, where: window.cloudatlas.lastAnswer.where})")
    if full:
        page.evaluate("window.cloudatlas.modelReady")
        out["model_ready"] = page.evaluate("performance.now()")
    context.close()
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


def s(ms: float) -> str:
    return f"{ms / 1000:.2f} s"


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--photos", type=int, default=5)
    ap.add_argument("--throttle", type=float, default=4)
    ap.add_argument("--down", type=float, default=1.5, help="slow link, Mbit/s towards the phone")
    ap.add_argument("--up", type=float, default=0.75, help="slow link, Mbit/s from the phone")
    ap.add_argument("--rtt", type=float, nargs="+", default=[560, 150], help="slow link, round trips in ms")
    ap.add_argument("--full", action="store_true", help="on the slow link, wait for the whole model too (a minute)")
    args = ap.parse_args()
    clf = Classifier.load(args.model, threads=1)
    counter = ByteCounter(create_app(classifier=clf, settings=ServiceSettings(max_concurrent=1, threads=1)))
    server, url = serve(counter)
    photos = [sorted((CCSN / g).glob("*.jpg"))[5] for g in ("Cu", "Ct", "Sc", "Cb", "Ci", "St", "Ns", "Ac")]
    photos = photos[: args.photos]
    print(f"model: {clf.path.name} ({clf.path.stat().st_size / 1e6:.1f} MB, {clf.img_size}px)")
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        big = phone_photo(Path(tmp) / "phone-12mp.jpg")
        video = y4m(Path(tmp) / "sky.y4m", [sorted((CCSN / "Ct").glob("*.jpg"))[1]])
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS + [
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()

        # -- page weight on a first visit ------------------------------------------------------
        page.goto(url + "/", wait_until="load")
        assert page.evaluate("window.cloudatlas.modelReady"), "the model did not start on the device"
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.wait_for_timeout(500)  # the service worker's last shell files
        sent = dict(counter.sent)
        model = sent.get("/model.onnx", 0)
        runtime = sum(v for p, v in sent.items() if p.startswith("/static/vendor/"))
        shell = sum(sent.values()) - model - runtime
        print("page weight, first visit (bytes sent by the server):")
        print(f"  page alone (HTML, CSS, JS, pictures, reference photos, labels) {kb(shell):>10}")
        print(f"  + runtime (onnxruntime-web, gzip)                              {kb(runtime):>10}")
        print(f"  + model                                                        {kb(model):>10}")
        print(f"  = with the model, stored for offline                           {kb(sum(sent.values())):>10}")

        # -- return visit: page load to answer, 12-MP photo, this CPU ---------------------------
        runs = [load_to_answer(page, url, big) for _ in range(4)][1:]  # the first warms Chromium's caches
        total = [r[0] for r in runs]
        print(f"return visit, page load -> answer on the device, {big.stat().st_size / 1e6:.1f} MB 12-MP JPEG chosen at "
              f"once (this CPU): median {s(statistics.median(total))}  (runs: {', '.join(s(t) for t in total)}; "
              f"photo -> answer {s(statistics.median(r[1] for r in runs))})")
        page.evaluate("window.cloudatlas.modelReady")
        warm = time_photos(page, [big] * 3)
        print(f"  the same photo once the model is running: median {s(statistics.median(warm))}")

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
        context.close()

        # -- first visit on a slow link --------------------------------------------------------
        for rtt in args.rtt:
            link = SlowLink(int(url.rsplit(":", 1)[1]), args.down, args.up, rtt / 1000)  # a fresh, idle link
            seen = first_visit_on_a_slow_link(browser, link.url, big, args.full)
            print(f"first visit on a {args.down:g} Mbit/s ({args.up:g} up), {rtt:g} ms link, from the start of the "
                  f"navigation:")
            print(f"  progress bar in view {s(seen['progress'])}; with the download's real size {s(seen['size'])}")
            print(f"  12-MP photo chosen at {s(seen['chosen'])} (the page's script ready), 'Answer now on the server': "
                  f"answer at {s(seen['answered'])} ({s(seen['answered'] - seen['chosen'])} after the photo; "
                  f"{seen['where']})")
            if args.full:
                print(f"  the model running on the device (whole download): {s(seen['model_ready'])}")
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
