"""Live sky in real headless Chromium with a fake camera: the camera films CCSN test photos of one
clear-cut genus (a .y4m video this test writes), the page classifies the live view on the device
and names that genus; "Say it" reads the settled answer aloud; a tap keeps the answer, shown with
the frame it was given for."""
import csv

import numpy as np
import pytest
from PIL import Image

from ..conftest import CHROMIUM, CHROMIUM_ARGS
from .phone_helpers import axe_violations, photo_shown

# The browser's speech synthesis, recorded: headless Chromium has no voices to hear.
SPEECH = """
    window.spoken = [];
    const synth = { speak: (u) => window.spoken.push({text: u.text, lang: u.lang}), cancel: () => {},
                    getVoices: () => [], speaking: false };
    Object.defineProperty(window, 'speechSynthesis', { value: synth, configurable: true });
"""

pytestmark = pytest.mark.browser

SIDE = 256            # the fake camera's frame, as in the y4m header
FRAMES_PER_PHOTO = 10  # two seconds each at 5 frames a second; Chromium loops the file


def ycbcr420(rgb: np.ndarray) -> bytes:
    """RGB [H, W, 3] uint8 -> one y4m frame body: full-range Y plane, then 2x2-averaged Cb and Cr."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape

    def sub(c):
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [y, sub(cb), sub(cr)]
    return b"".join(np.clip(np.round(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def as_filmed(path) -> np.ndarray:
    """What the camera shows of a photo: its centre square at SIDE x SIDE."""
    img = Image.open(path).convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return np.asarray(img.crop((left, top, left + side, top + side)).resize((SIDE, SIDE), Image.BILINEAR))


def back_to_rgb(frame: np.ndarray) -> np.ndarray:
    """The frame after the trip through 4:2:0 chroma, to check Python still names it."""
    body = np.frombuffer(ycbcr420(frame), dtype=np.uint8).astype(np.float32)
    n = SIDE * SIDE
    y = body[:n].reshape(SIDE, SIDE)
    up = lambda c: c.reshape(SIDE // 2, SIDE // 2).repeat(2, 0).repeat(2, 1)  # noqa: E731
    cb, cr = up(body[n:n + n // 4]) - 128, up(body[n + n // 4:]) - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def filmed_genus(ccsn_dir, classifier, tmp_path_factory):
    """(genus, y4m path): test photos of contrails (or cumulonimbus) that the Python classifier
    itself names, with high probability, even as the camera would film them."""
    with open(ccsn_dir / "split.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    for genus in ("Ct", "Cb"):
        frames = []
        for r in (r for r in rows if r["label"] == genus):
            frame = as_filmed(ccsn_dir / r["path"])
            pred = classifier.predict(back_to_rgb(frame))
            if pred.verdict == "cloud" and pred.label == genus and pred.probability >= 0.8:
                frames.append(frame)
            if len(frames) == 3:
                break
        if len(frames) >= 2:
            break
    else:
        pytest.fail("no clear-cut genus among the CCSN test photos for the fake camera")
    video = tmp_path_factory.mktemp("camera") / "sky.y4m"
    with open(video, "wb") as out:
        out.write(f"YUV4MPEG2 W{SIDE} H{SIDE} F5:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            body = ycbcr420(frame)
            for _ in range(FRAMES_PER_PHOTO):
                out.write(b"FRAME\n" + body)
    return genus, video


@pytest.fixture(scope="module")
def camera_browser(browser, filmed_genus):
    """A second Chromium whose camera is the fake one (launched by the session's Playwright: one
    Playwright per process)."""
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-video-capture={filmed_genus[1]}"]
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    yield b
    b.close()


def test_live_mode_names_the_genus_the_camera_sees_and_a_tap_keeps_it(camera_browser, server, filmed_genus,
                                                                       classifier, artifacts_dir):
    genus, _ = filmed_genus
    name = classifier.names[classifier.labels.index(genus)]
    context = camera_browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script(SPEECH)
    context.grant_permissions(["camera"])
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(server + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    page.click("#live-start")
    page.wait_for_selector("#live:not([hidden])")
    # several answers in a row name the genus (smoothed, so it stays put)
    page.wait_for_function("g => document.getElementById('live-label').dataset.label === g", arg=genus,
                           timeout=60_000)
    seen = []
    for _ in range(6):
        page.wait_for_timeout(500)
        seen.append(page.get_attribute("#live-label", "data-label"))
    assert seen.count(genus) >= 5, seen
    assert name in page.inner_text("#live-label").lower()
    fps = page.evaluate("window.cloudatlas.live.fps")
    print(f"live mode: {fps:.1f} answers a second")
    assert fps > 0.5
    page.screenshot(path=str(artifacts_dir / "web-live.png"), full_page=True)

    # "Say it": the settled answer, read aloud once (not again while it holds)
    assert page.is_visible("#say-it")
    page.check("#say-it")
    page.wait_for_function("() => window.spoken.length > 0", timeout=30_000)
    spoken = page.evaluate("window.spoken")[0]
    assert name in spoken["text"].lower() and spoken["text"] == page.inner_text("#live-label")
    assert spoken["lang"] == "en"
    page.wait_for_timeout(3000)
    assert [s["text"] for s in page.evaluate("window.spoken")].count(spoken["text"]) == 1
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts_dir / "web-live-say-it.png"))

    page.click("#live-freeze")  # the tap
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    answer = page.evaluate("window.cloudatlas.lastAnswer")
    assert answer["predictions"][0]["label"] == genus and answer["where"] == "device"
    assert name in page.inner_text("#top-name").lower()
    assert page.is_hidden("#live") and page.is_visible("#thumb-img")
    page.wait_for_function("() => document.getElementById('thumb-img').naturalWidth > 0")
    assert photo_shown(page, "#result")  # the kept frame, in view with its answer
    page.evaluate("window.cloudatlas.saved")
    kept = page.evaluate("async () => (await (await import('/static/js/history.js')).list())[0]")
    assert kept["top"][0]["label"] == genus and kept["thumb"] is not None
    page.screenshot(path=str(artifacts_dir / "web-live-kept.png"))
    assert page.evaluate("document.getElementById('live-video').srcObject") is None  # camera released
    assert not [u for u in requests if "/api/v1/classify" in u]
    context.close()
