"""What the page tests share: axe-core, "in view", answers the test controls, photos this browser
cannot read, and servers that record what was asked of them or hold the model's download back."""
from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from cloudatlas.server import ServiceSettings, create_app

from ..conftest import ROOT, live_server

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
LAYOUTS = {"phone": PHONE, "desktop": DESKTOP}
ANSWERED = ("#result:not([hidden]), #rejection:not([hidden]), #error:not([hidden]), #clear-sky:not([hidden]), "
            "#ask:not([hidden])")
USE_SERVER = "localStorage.setItem('cloudatlas.useServer', '1')"
LARGE = ("/model.onnx", "/static/vendor/ort/ort-wasm-simd-threaded.wasm")  # what a first visit downloads


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, elements)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run `npm ci` (make test does)")
    # evaluate() runs outside the page's Content-Security-Policy, which forbids injected scripts
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;true")
    return page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        if (!r.passes.length) throw new Error('axe checked nothing');
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
    }""")


def wait_until(check, timeout: float = 30.0) -> None:
    """Wait for a condition outside the page (what the server received), polling."""
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def in_view(page, selector) -> bool:
    """Wholly inside the viewport (give or take the sub-pixel a scroll into view may leave)."""
    box = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }")
    return box[0] >= -1 and box[1] <= page.viewport_size["height"] + 1 and box[1] > box[0]


def photo_shown(page, slot_of: str) -> bool:
    """The person's photo is in ``slot_of``'s message, loaded and in view."""
    return page.evaluate("""sel => {
        const img = document.querySelector(sel + ' .photo-slot #thumb-img');
        if (!img || !img.complete || !img.naturalWidth) return false;
        const r = img.getBoundingClientRect();
        return r.width > 40 && r.top >= -1 && r.bottom <= innerHeight + 1;
    }""", slot_of)


def sent_when_pressed(page, app, button: str) -> dict:
    """Nothing has left the page until ``button`` is pressed; then that one photo goes, and the
    server answers it. Returns the answer."""
    assert app.count("/api/v1/classify") == 0
    page.click(button)
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    answer = page.evaluate("window.cloudatlas.lastAnswer")
    assert answer["where"] == "server" and app.count("/api/v1/classify") == 1
    return answer


LABELS = ["Ac", "As", "Cb", "Cc", "Ci", "Cs", "Ct", "Cu", "Ns", "Sc", "St"]
NAMES = ["altocumulus", "altostratus", "cumulonimbus", "cirrocumulus", "cirrus", "cirrostratus", "contrail",
         "cumulus", "nimbostratus", "stratocumulus", "stratus"]


def answer_for(verdict: str, probs: dict[str, float] | list[float]) -> dict:
    """A server answer the test controls, without the words: the page words it by the model's rule.
    ``probs``: genus -> probability (or the first genera's, in LABELS order); the rest share the remainder."""
    if not isinstance(probs, dict):
        probs = dict(zip(LABELS, probs))
    rest = (1 - sum(probs.values())) / (len(LABELS) - len(probs))
    p = {c: probs.get(c, rest) for c in LABELS}
    ranked = sorted(zip(LABELS, NAMES), key=lambda cn: -p[cn[0]])
    return {"verdict": verdict, "is_cloud": verdict == "cloud", "cloud_score": 0.1 if verdict == "not_sky" else 0.99,
            "cloud_threshold": 0.5,
            "clear_sky_score": 0.9 if verdict == "clear_sky" else 0.1, "clear_sky_threshold": 0.5,
            "elapsed_ms": 5, "cam": None, "model": {"name": "m", "version": "1"},
            "predictions": [{"label": c, "name": n, "probability": p[c]} for c, n in ranked]}


def fulfil_with(answer):
    return lambda route: route.fulfill(json=answer)


def jpeg_bytes(size=(400, 300), colour=(120, 160, 220)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


def jpeg(size=(400, 300)) -> dict:
    return {"name": "sky.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(size)}


def truncated_jpeg(path: Path) -> dict:
    """A real photo cut off after 40 % of its bytes, as an interrupted copy leaves it."""
    data = path.read_bytes()
    return {"name": path.name, "mimeType": "image/jpeg", "buffer": data[: int(len(data) * 0.4)]}


def heic(path: Path) -> dict:
    """A real photo saved as HEIC, which Chromium cannot read."""
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.open(path).convert("RGB")).save(buf, quality=80)
    return {"name": path.stem + ".heic", "mimeType": "image/heic", "buffer": buf.getvalue()}


class Recorded:
    """ASGI wrapper: the path of every request the server received (what really left the page,
    the service worker's and the model worker's requests included); ``hold()`` keeps the large
    downloads (model and runtime) waiting until ``release()``, as a slow first visit would."""

    def __init__(self, app):
        self.app = app
        self.paths: list[str] = []
        self._released = threading.Event()
        self._released.set()

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def count(self, path: str) -> int:
        return sum(1 for p in self.paths if p == path)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.paths.append(scope["path"])
            if scope["path"] in LARGE:
                while not self._released.is_set():
                    await asyncio.sleep(0.05)
        await self.app(scope, receive, send)


@contextlib.contextmanager
def recorded_server(classifier):
    """A fresh app (its own origin: no service worker or caches from other tests) that records."""
    app = Recorded(create_app(classifier=classifier, settings=ServiceSettings(max_concurrent=1, threads=1)))
    with live_server(app) as url:
        app.url = url
        yield app
