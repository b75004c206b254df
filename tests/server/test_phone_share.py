"""Share a result (issue 16, point 7), in real headless Chromium: the photo, the genus and one line
through the phone's share sheet (Web Share API), or the line and a link copied where the browser
cannot share; the link opens CloudAtlas on the genus that was seen."""
import pytest

from .phone_helpers import PHONE, USE_SERVER, answer_for, fulfil_with, jpeg

pytestmark = pytest.mark.browser

SHARE_SHEET = """
    window.shared = [];
    navigator.canShare = (data) => Boolean(data && (data.files || data.text || data.url));
    navigator.share = async (data) => {
        window.shared.push({text: data.text, url: data.url, title: data.title,
                            files: (data.files || []).map(f => ({name: f.name, type: f.type, size: f.size}))});
    };
"""
SURE = answer_for("cloud", {"Cb": 0.93})


def answered_page(browser, server, *scripts, **options):
    context = browser.new_context(viewport=PHONE, **options)
    for script in (USE_SERVER, *scripts):
        context.add_init_script(script)
    page = context.new_page()
    page.goto(server + "/")
    page.route("**/api/v1/classify*", fulfil_with(SURE))
    page.set_input_files("#photo", files=[jpeg()])
    page.wait_for_selector("#result:not([hidden])")
    return page


def test_share_sends_the_photo_the_genus_and_one_line_to_the_share_sheet(browser, server):
    page = answered_page(browser, server, SHARE_SHEET, is_mobile=True, has_touch=True)
    page.click("#share")
    page.wait_for_function("() => window.shared.length === 1")
    [shared] = page.evaluate("window.shared")
    assert shared["text"] == "Very likely: cumulonimbus, named with CloudAtlas."
    assert shared["url"].endswith("/#seen=Cb")
    assert shared["files"] == [{"name": "sky.jpg", "type": "image/jpeg", "size": len(jpeg()["buffer"])}]
    assert page.inner_text("#share-note") == "Shared."
    page.context.close()


def test_without_a_share_sheet_the_line_and_a_link_are_copied(browser, server, artifacts_dir):
    page = answered_page(browser, server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    assert page.evaluate("typeof navigator.share") == "undefined"  # desktop Chromium on Linux: no share sheet
    page.click("#share")
    page.wait_for_function("() => document.getElementById('share-note').textContent.includes('copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Very likely: cumulonimbus, named with CloudAtlas. http") and copied.endswith("/#seen=Cb")
    page.locator("#share").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "web-share-copied-phone.png"))

    page.goto(copied.split(" ")[-1])  # the link, opened by whoever got it
    page.wait_for_selector("#shared:not([hidden])")
    assert "Shared with you: cumulonimbus" in page.inner_text("#shared")
    assert "storm" in page.inner_text("#shared")
    page.context.close()
