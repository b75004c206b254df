"""The answer as a person meets it, on phones and on a desktop, in real headless Chromium: in view
after a photo, side by side on wide screens, a drop overlay, the heat map where one is looking,
the status line speaking the whole answer, and axe-core (npm) finding no violations in any state."""
import io
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
LAYOUTS = {"phone": PHONE, "desktop": DESKTOP}
ANSWERED = "#result:not([hidden]), #rejection:not([hidden]), #error:not([hidden]), #clear-sky:not([hidden])"


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, elements)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run `npm ci` (make test does)")
    # evaluate() runs outside the page's Content-Security-Policy, which forbids injected scripts
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;true")
    found = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        if (!r.passes.length) throw new Error('axe checked nothing');
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
    }""")
    return found


def in_view(page, selector) -> bool:
    box = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }")
    return box[0] >= 0 and box[1] <= page.viewport_size["height"] and box[1] > box[0]


@pytest.fixture
def open_page(browser, server):
    contexts = []

    def _open(viewport, use_server=False, **options):
        context = browser.new_context(viewport=viewport, **options)
        if use_server:
            context.add_init_script("localStorage.setItem('cloudatlas.useServer', '1')")
        contexts.append(context)
        page = context.new_page()
        page.goto(server + "/")
        page.wait_for_function("() => window.cloudatlas && window.cloudatlas.engine")
        return page

    yield _open
    for c in contexts:
        c.close()


@pytest.fixture(scope="module")
def sure_photo(ccsn_test_photos, classifier) -> Path:
    """A test-split photo the model names at 'likely' or better, to see the ordinary answer."""
    for path in ccsn_test_photos["Ct"] + ccsn_test_photos["Cb"]:
        pred = classifier.predict(path)
        if pred.verdict == "cloud" and pred.probability >= 0.8:
            return path
    pytest.fail("no photo the model is sure of")


def answer_for(verdict, probs):
    labels = ["Ac", "As", "Cb", "Cc", "Ci", "Cs", "Ct", "Cu", "Ns", "Sc", "St"]
    names = ["altocumulus", "altostratus", "cumulonimbus", "cirrocumulus", "cirrus", "cirrostratus", "contrail",
             "cumulus", "nimbostratus", "stratocumulus", "stratus"]
    rest = (1 - sum(probs)) / (len(labels) - len(probs))
    p = list(probs) + [rest] * (len(labels) - len(probs))
    return {"verdict": verdict, "is_cloud": verdict == "cloud", "cloud_score": 0.99, "cloud_threshold": 0.5,
            "clear_sky_score": 0.9 if verdict == "clear_sky" else 0.1, "clear_sky_threshold": 0.5,
            "elapsed_ms": 5, "cam": None, "model": {"name": "m", "version": "1"},
            "predictions": [{"label": c, "name": n, "probability": q} for c, n, q in zip(labels, names, p)]}


def fulfil_with(answer):
    return lambda route: route.fulfill(json=answer)


def jpeg(size=(400, 300)) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 160, 220)).save(buf, format="JPEG")
    return {"name": "sky.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE, DESKTOP], ids=["390x844", "375x667", "desktop"])
def test_after_a_photo_the_answer_is_in_view(open_page, viewport, sure_photo, classifier, artifacts_dir):
    page = open_page(viewport)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.set_input_files("#photo", str(sure_photo))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    expected = classifier.predict(sure_photo)
    assert in_view(page, "#top-name") and in_view(page, "#confidence-word") and in_view(page, "#top-confidence")
    assert page.evaluate("document.activeElement.id") == "top-name"
    # the status region speaks the whole answer
    word = "very likely" if expected.probability >= 0.8 else "likely"
    assert page.inner_text("#status") == f"{expected.name.capitalize()}, {word}, {round(expected.probability * 100)} %"
    if viewport is DESKTOP:
        photo, answer = page.locator("#preview").bounding_box(), page.locator("#result").bounding_box()
        assert photo["x"] + photo["width"] <= answer["x"]  # side by side
        assert in_view(page, "#preview-img")
    else:
        assert page.is_visible("#thumb-img") and in_view(page, "#thumb-img")  # the answer first, with a thumbnail
        result_top = page.locator("#result").bounding_box()["y"]
        assert result_top < page.locator("#drop").bounding_box()["y"]
    assert page.is_visible("#again")  # "Try another photo" after the results
    name = "desktop" if viewport is DESKTOP else f"phone-{viewport['width']}"
    page.screenshot(path=str(artifacts_dir / f"web-answer-{name}.png"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_heat_map_appears_where_the_person_is_looking(open_page, layout, sure_photo):
    page = open_page(LAYOUTS[layout])
    page.set_input_files("#photo", str(sure_photo))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    page.locator("#cam-toggle").scroll_into_view_if_needed()
    page.check("#cam-toggle")
    overlay = "#cam-img" if layout == "desktop" else "#thumb-cam"
    page.wait_for_timeout(200)
    assert page.is_visible(overlay) and in_view(page, overlay)
    assert page.is_visible("#cam-legend")


def test_dragging_a_file_shows_a_drop_overlay(open_page):
    page = open_page(DESKTOP)
    assert page.is_hidden("#drop-overlay")
    page.dispatch_event("body", "dragenter", {"dataTransfer": page.evaluate_handle("new DataTransfer()")})
    assert page.is_visible("#drop-overlay") and "Drop the photo here" in page.inner_text("#drop-overlay")
    page.dispatch_event("body", "dragleave")
    assert page.is_hidden("#drop-overlay")


def test_the_camera_input_is_reachable_only_with_its_button(open_page):
    desktop = open_page(DESKTOP)
    assert desktop.evaluate("getComputedStyle(document.getElementById('camera').parentElement).display") == "none"
    phone = open_page(PHONE, is_mobile=True, has_touch=True)
    assert phone.is_visible("label[for=camera]")
    phone.focus("#camera")
    assert phone.evaluate("document.activeElement.id") == "camera"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_axe_finds_no_violations_in_any_state(open_page, layout, sure_photo, heldout_not_sky, tmp_path, artifacts_dir):
    viewport = LAYOUTS[layout]

    page = open_page(viewport)
    assert axe_violations(page) == [], "start"

    # a sure answer, every bar shown, an alternative's card open, the heat map on
    page.set_input_files("#photo", str(sure_photo))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    page.click("#show-all")
    page.locator("#bars li").nth(1).locator("summary").click()
    page.check("#cam-toggle")
    assert axe_violations(page) == [], "answer"

    # not a sky photo, then the guess
    page.set_input_files("#photo", str(heldout_not_sky[0]))
    page.wait_for_selector("#rejection:not([hidden])", timeout=60_000)
    assert axe_violations(page) == [], "not a sky photo"
    page.screenshot(path=str(artifacts_dir / f"web-not-sky-{layout}.png"), full_page=True)
    page.click("#show-anyway")
    assert axe_violations(page) == [], "guess"

    # a text file: the error
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n")
    page.set_input_files("#photo", str(notes))
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert axe_violations(page) == [], "error"

    # answers the test controls, from the server: unsure, clear sky
    page = open_page(viewport, use_server=True)
    answers = {"unsure": answer_for("cloud", [0.42, 0.33, 0.15]), "clear-sky": answer_for("clear_sky", [0.5])}
    for state, answer in answers.items():
        page.unroute("**/api/v1/classify*")
        page.route("**/api/v1/classify*", fulfil_with(answer))
        page.set_input_files("#photo", files=[jpeg()])
        page.wait_for_selector(ANSWERED, timeout=30_000)
        if state == "clear-sky":
            assert page.inner_text("#clear-sky-title") == "Clear sky: no clouds to name"
            assert page.inner_text("#status") == "Clear sky: no clouds to name"
        else:
            assert page.locator("#compare .card").count() == 3 and page.is_visible("#tips")
        assert axe_violations(page) == [], state
        page.screenshot(path=str(artifacts_dir / f"web-{state}-{layout}.png"), full_page=True)
