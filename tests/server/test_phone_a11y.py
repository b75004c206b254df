"""The answer as a person meets it, on phones and on a desktop, in real headless Chromium: in view
after a photo, side by side on wide screens, a drop overlay, the heat map where one is looking,
the status line speaking the whole answer, and axe-core (npm) finding no violations in any state."""
from pathlib import Path

import pytest

from cloudatlas.inference import WORDS

from .phone_helpers import (ANSWERED, DESKTOP, LAYOUTS, PHONE, SMALL_PHONE, USE_SERVER, answer_for, axe_violations,
                            fulfil_with, heic, in_view, jpeg, recorded_server)

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(browser, server):
    contexts = []

    def _open(viewport, use_server=False, **options):
        context = browser.new_context(viewport=viewport, **options)
        if use_server:
            context.add_init_script(USE_SERVER)
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
    """A test-split photo the model names at 'very likely', to see the ordinary answer."""
    for path in ccsn_test_photos["Ct"] + ccsn_test_photos["Cb"]:
        pred = classifier.predict(path)
        if pred.verdict == "cloud" and pred.confidence == "very_likely":
            return path
    pytest.fail("no photo the model is sure of")


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
    word = WORDS[expected.confidence].lower()
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
    overlay, legend = ("#cam-img", "#cam-legend") if layout == "desktop" else ("#thumb-cam", "#cam-legend")
    page.wait_for_timeout(200)
    assert page.is_visible(overlay) and in_view(page, overlay)
    assert page.is_visible(legend) and in_view(page, legend)  # the legend lies on the map it explains


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
    page.screenshot(path=str(artifacts_dir / f"web-guess-{layout}.png"), full_page=True)

    # a text file: the error
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n")
    page.set_input_files("#photo", str(notes))
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert axe_violations(page) == [], "error"

    # answers the test controls, from the server: unsure, clear sky
    page = open_page(viewport, use_server=True)
    answers = {"unsure": answer_for("cloud", [0.42, 0.33, 0.15]), "clear-sky": answer_for("clear_sky", [0.5]),
               "level-first": answer_for("cloud", {"Sc": 0.44, "St": 0.3, "Cu": 0.2})}
    for state, answer in answers.items():
        page.unroute("**/api/v1/classify*")
        page.route("**/api/v1/classify*", fulfil_with(answer))
        page.set_input_files("#photo", files=[jpeg()])
        page.wait_for_selector(ANSWERED, timeout=30_000)
        if state == "clear-sky":
            assert page.inner_text("#clear-sky-title") == "Clear sky: no clouds to name"
            assert page.inner_text("#status") == "Clear sky: no clouds to name"
        elif state == "unsure":
            assert page.locator("#compare .card").count() == 3 and page.is_visible("#tips")
        assert axe_violations(page) == [], state
        page.screenshot(path=str(artifacts_dir / f"web-{state}-{layout}.png"), full_page=True)
        if state == "clear-sky":  # the guess behind a clear sky
            page.click("#show-anyway-clear")
            assert page.is_visible("#result") and page.is_visible("#guess-warning")
            assert axe_violations(page) == [], "clear-sky guess"
            page.screenshot(path=str(artifacts_dir / f"web-clear-sky-guess-{layout}.png"), full_page=True)
        if state == "unsure":  # a choice made in the compare view
            page.locator("#compare button.choose").nth(1).click()
            page.wait_for_selector("#choice:not([hidden])")
            assert axe_violations(page) == [], "chosen"
            page.screenshot(path=str(artifacts_dir / f"web-chosen-{layout}.png"), full_page=True)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_axe_finds_no_violations_in_the_field_companion_states(browser, classifier, layout, ccsn_test_photos,
                                                                 artifacts_dir):
    """The states of issue 16: the model's download with a photo waiting, asking before a photo is
    sent, the history with its answers, a copied share link, the install button, a shared genus."""
    viewport = LAYOUTS[layout]
    with recorded_server(classifier) as app:
        app.hold()
        context = browser.new_context(viewport=viewport)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(app.url + "/")
        page.wait_for_function("() => document.getElementById('progress-text').textContent.includes('MB')")
        assert axe_violations(page) == [], "downloading"
        page.set_input_files("#photo", str(ccsn_test_photos["Cu"][0]))
        page.wait_for_selector("#waiting:not([hidden])")
        assert axe_violations(page) == [], "waiting"
        page.screenshot(path=str(artifacts_dir / f"web-waiting-{layout}.png"))
        app.release()
        page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=120_000)

        page.set_input_files("#photo", files=[heic(ccsn_test_photos["Ct"][0])])
        page.wait_for_selector("#ask:not([hidden])")
        assert axe_violations(page) == [], "ask"
        page.screenshot(path=str(artifacts_dir / f"web-ask-{layout}.png"))
        page.click("#ask-cancel")

        page.evaluate("window.cloudatlas.lastAnswer = null")
        page.set_input_files("#photo", str(ccsn_test_photos["Ct"][1]))
        page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
        page.wait_for_selector("#result:not([hidden]), #clear-sky:not([hidden]), #rejection:not([hidden])")
        if page.is_visible("#share"):
            page.click("#share")
            page.wait_for_function("() => document.getElementById('share-note').textContent !== ''")
            assert axe_violations(page) == [], "shared"
        page.evaluate("window.cloudatlas.saved")
        page.click("#history-link")
        page.wait_for_selector("#history:not([hidden]) .history-item")
        assert axe_violations(page) == [], "history"
        page.screenshot(path=str(artifacts_dir / f"web-history-{layout}.png"), full_page=True)
        page.click("#history-clear")
        assert axe_violations(page) == [], "history: delete all?"

        page.evaluate("""() => { const e = new Event('beforeinstallprompt');
            e.prompt = () => {}; e.userChoice = Promise.resolve({outcome: 'dismissed'});
            window.dispatchEvent(e); }""")
        page.goto(app.url + "/#seen=Cb")
        page.evaluate("""() => { const e = new Event('beforeinstallprompt');
            e.prompt = () => {}; e.userChoice = Promise.resolve({outcome: 'dismissed'});
            window.dispatchEvent(e); }""")
        page.wait_for_selector("#shared:not([hidden])")
        page.wait_for_selector("#install:not([hidden])")
        assert axe_violations(page) == [], "install, shared"
        page.screenshot(path=str(artifacts_dir / f"web-install-shared-{layout}.png"), full_page=True)
        context.close()
