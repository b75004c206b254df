"""The photo stays in view with every answer and error, and errors open in view (issue 16, point 4),
on a phone and on a desktop, in real headless Chromium. (The kept live frame: test_phone_live.py.)"""
import pytest

from .phone_helpers import LAYOUTS, USE_SERVER, answer_for, fulfil_with, in_view, jpeg, photo_shown

pytestmark = pytest.mark.browser

ANSWERS = {
    "sure": (answer_for("cloud", {"Cu": 0.93}), "#result"),
    "unsure": (answer_for("cloud", {"Ac": 0.42, "Cc": 0.33, "Ci": 0.15}), "#result"),
    "clear-sky": (answer_for("clear_sky", {"Ci": 0.5}), "#clear-sky"),
    "not-sky": (answer_for("not_sky", {"Cu": 0.5}), "#rejection"),
}
ERROR = {"status": 422, "error": "unreadable_image", "message": "sky.jpg could not be decoded as an image."}


def photo_in_view(page, layout: str, section: str) -> bool:
    if layout == "desktop":  # the large photo beside the answer
        return page.is_visible("#preview-img") and in_view(page, "#preview-img")
    return photo_shown(page, section)  # on a phone: the thumbnail inside the message itself


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_photo_is_in_view_with_every_answer_and_error(browser, server, layout, artifacts_dir):
    context = browser.new_context(viewport=LAYOUTS[layout])
    context.add_init_script(USE_SERVER)
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_function("() => window.cloudatlas.engine === 'server'")
    for state, (answer, section) in ANSWERS.items():
        page.unroute("**/api/v1/classify*")
        page.route("**/api/v1/classify*", fulfil_with(answer))
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.set_input_files("#photo", files=[jpeg()])
        page.wait_for_selector(f"{section}:not([hidden])", timeout=30_000)
        page.wait_for_function("() => document.getElementById('thumb-img').naturalWidth > 0")
        assert photo_in_view(page, layout, section), state
        heading = "#top-name" if section == "#result" else f"{section}-title"
        assert in_view(page, heading), state
    page.unroute("**/api/v1/classify*")
    page.route("**/api/v1/classify*", lambda route: route.fulfill(status=422, json=ERROR))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.set_input_files("#photo", files=[jpeg()])
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    page.wait_for_function("() => document.getElementById('thumb-img').naturalWidth > 0")
    assert in_view(page, "#error-text") and page.inner_text("#error-text") == ERROR["message"]
    page.screenshot(path=str(artifacts_dir / f"web-error-with-photo-{layout}.png"))
    assert photo_in_view(page, layout, "#error")
    context.close()
