"""The web page in real headless Chromium: choose a photo, see the genus; a non-sky image; a text file."""
import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser


@pytest.fixture
def app_page(page, server):
    """The page on a phone-sized screen, with every request it makes recorded."""
    requests = []
    page.on("request", lambda r: requests.append(r))
    page.goto(server + "/")
    page.requests = requests
    return page


def choose(page, path):
    page.set_input_files("#photo", str(path))


def test_choosing_a_sky_photo_shows_the_genus_bars_card_and_heat_map(app_page, server, ccsn_dir, classifier,
                                                                     artifacts_dir):
    page = app_page
    candidates = sorted((ccsn_dir / "Cu").glob("*.jpg"))[20:30]
    photo = next(p for p in candidates if classifier.predict(p).is_cloud)  # one the gate lets through
    choose(page, photo)
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    expected = classifier.predict(photo)
    assert page.inner_text("#top-name").lower() == expected.name
    assert page.inner_text("#top-confidence") == f"{round(expected.probability * 100)}%"
    bars = page.locator("#bars li")
    assert bars.count() == 11
    assert bars.first.locator(".name").inner_text().lower() == expected.name
    # the drawn bars are as long as the probabilities (once their short animation ends)
    page.wait_for_function("""p => {
        const fill = document.querySelector('#bars .fill');
        return Math.abs(fill.getBoundingClientRect().width / fill.parentElement.getBoundingClientRect().width - p) < 0.01;
    }""", arg=expected.probability, timeout=5_000)
    ratios = page.eval_on_selector_all(
        "#bars .fill", "els => els.map(e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width)")
    assert ratios == pytest.approx([p.probability for p in expected.predictions], abs=0.01)
    assert expected.name in page.inner_text("#card-title").lower()
    assert page.inner_text("#card-look") and page.inner_text("#card-precipitation")
    assert page.is_visible("#preview-img") and page.is_hidden("#rejection") and page.is_hidden("#error")

    second = expected.predictions[1]
    mixed_expected = second.probability >= 0.6 * expected.probability
    assert page.is_visible("#mixed") == mixed_expected
    if mixed_expected:
        assert "more than one cloud type" in page.inner_text("#mixed")

    assert page.is_hidden("#cam-img")
    page.check("#cam-toggle")
    assert page.is_visible("#cam-img")
    assert page.get_attribute("#cam-img", "src").startswith("data:image/png;base64,")
    page.screenshot(path=str(artifacts_dir / "web-result.png"), full_page=True)

    origins = {r.url.split("/")[2] for r in page.requests if r.url.startswith("http")}
    assert origins == {server.split("/")[2]}  # nothing fetched from anywhere else (no CDN)


def test_close_top_two_say_the_sky_may_hold_more_than_one_type(app_page):
    page = app_page
    page.route("**/api/v1/classify*", lambda route: route.fulfill(json={
        "is_cloud": True, "cloud_score": 0.99, "cloud_threshold": 0.5, "elapsed_ms": 5, "cam": None,
        "model": {"name": "m", "version": "1"},
        "predictions": [{"label": "Ac", "name": "altocumulus", "probability": 0.46},
                        {"label": "Cc", "name": "cirrocumulus", "probability": 0.40},
                        *[{"label": c, "name": c, "probability": 0.014} for c in
                          ("As", "Cb", "Ci", "Cs", "Ct", "Cu", "Ns", "Sc", "St")]]}))
    page.set_input_files("#photo", files=[{"name": "sky.jpg", "mimeType": "image/jpeg",
                                           "buffer": _jpeg((200, 150))}])
    page.wait_for_selector("#result:not([hidden])")
    text = page.inner_text("#mixed")
    assert "more than one cloud type" in text and "altocumulus" in text and "cirrocumulus" in text
    assert page.is_disabled("#cam-toggle")  # no heat map in this answer


def test_a_photo_of_something_else_is_rejected_and_the_guess_can_still_be_seen(app_page, not_cloud_dir,
                                                                                artifacts_dir):
    page = app_page
    choose(page, not_cloud_dir / "n07753592_banana.jpg")
    page.wait_for_selector("#rejection:not([hidden])", timeout=30_000)
    assert "does not look like a sky photo" in page.inner_text("#rejection")
    assert page.is_hidden("#result")
    page.screenshot(path=str(artifacts_dir / "web-rejected.png"), full_page=True)
    page.click("text=Show me the guess anyway")
    assert page.is_visible("#result") and page.is_visible("#guess-warning")
    assert page.locator("#bars li").count() == 11


def test_a_text_file_shows_a_friendly_error(app_page, tmp_path, artifacts_dir):
    page = app_page
    notes = tmp_path / "notes.txt"
    notes.write_text("Saturday: picnic if the sky stays clear.\n")
    choose(page, notes)
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    message = page.inner_text("#error")
    assert "not a photo" in message and "notes.txt" in message
    assert "Traceback" not in message and "{" not in message
    assert page.is_hidden("#result") and page.is_hidden("#rejection")
    page.screenshot(path=str(artifacts_dir / "web-error.png"), full_page=True)


def test_large_photos_are_shrunk_in_the_browser_before_upload(page, server, tmp_path):
    # Record what the page hands to fetch(): the file in the form, and its pixel size.
    page.add_init_script("""
        window.uploads = [];
        const realFetch = window.fetch;
        window.fetch = async (url, options) => {
            const file = options && options.body instanceof FormData ? options.body.get('file') : null;
            if (file) {
                const bmp = await createImageBitmap(file);
                window.uploads.push({bytes: file.size, type: file.type, name: file.name,
                                     width: bmp.width, height: bmp.height});
            }
            return realFetch(url, options);
        };
    """)
    page.goto(server + "/")
    big = tmp_path / "phone.jpg"
    rng = np.random.default_rng(0)
    arr = np.clip(rng.normal(150, 40, (3000, 4000, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(big, quality=92)
    choose(page, big)
    page.wait_for_selector("#result:not([hidden]), #rejection:not([hidden])", timeout=30_000)
    [upload] = page.evaluate("window.uploads")
    assert (upload["width"], upload["height"]) == (1280, 960)
    assert upload["type"] == "image/jpeg" and upload["name"] == "phone.jpg"
    assert upload["bytes"] < big.stat().st_size / 4


def test_keyboard_users_can_choose_a_photo_and_every_control_is_labelled(app_page, ccsn_dir):
    page = app_page
    # Turn on Playwright's file-chooser interception before any key is pressed: it is switched
    # on asynchronously when the first listener appears, and a chooser opened earlier is lost.
    page.on("filechooser", lambda chooser: None)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "photo"
    outline = page.evaluate("getComputedStyle(document.querySelector('.big-button')).outlineStyle")
    assert outline == "solid"  # focus is shown on the visible button
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(ccsn_dir / "Ns" / "Ns-N002.jpg"))
    page.wait_for_selector("#result:not([hidden]), #rejection:not([hidden])", timeout=30_000)
    assert page.evaluate("document.activeElement.tagName") == "H2"  # the answer is announced
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.textContent.trim() && !el.getAttribute('aria-label'))
        .map(el => el.id)""")
    assert unlabelled == []
    assert page.get_attribute("#photo", "accept") == "image/*"
    assert page.get_attribute("#camera", "capture") == "environment"
    assert page.inner_text("label[for=photo]").strip() == "Take or choose a photo"


def _jpeg(size):
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 160, 220)).save(buf, format="JPEG")
    return buf.getvalue()
