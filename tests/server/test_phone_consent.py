"""Nothing sent unasked, and server mode means server mode (issue 16, points 2 and 3), in real
headless Chromium. What left the page is counted where it arrives: on the server.

- A photo this browser cannot read (a truncated JPEG; HEIC in Chrome) is never uploaded silently:
  the page says why and asks; "No" sends nothing, "Send" sends that one photo.
- A person who chose the server downloads no model and no runtime; offline, the model stored on
  the device answers if there is one, else the page says plainly that it needs the network.
"""
import pytest

from .phone_helpers import (LARGE, PHONE, USE_SERVER, heic, in_view, photo_shown, recorded_server, sent_when_pressed,
                            truncated_jpeg)

pytestmark = pytest.mark.browser


@pytest.fixture
def app(classifier):
    with recorded_server(classifier) as app:
        yield app


@pytest.fixture
def device_page(browser, app):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(app.url + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    yield page
    context.close()


def test_a_truncated_jpeg_is_not_sent_unless_the_person_says_so(device_page, app, ccsn_test_photos, artifacts_dir):
    page = device_page
    cut = truncated_jpeg(ccsn_test_photos["Cu"][0])
    page.set_input_files("#photo", files=[cut])
    page.wait_for_selector("#ask:not([hidden])")
    assert "cut off" in page.inner_text("#ask-why")
    assert in_view(page, "#ask-send") and in_view(page, "#ask-title")
    assert app.count("/api/v1/classify") == 0
    page.screenshot(path=str(artifacts_dir / "web-ask-truncated-phone.png"))
    page.click("#ask-cancel")
    page.wait_for_selector("#ask", state="hidden")
    assert "Nothing was sent" in page.inner_text("#status")
    assert app.count("/api/v1/classify") == 0

    page.set_input_files("#photo", files=[cut])
    page.wait_for_selector("#ask:not([hidden])")
    page.click("#ask-send")
    page.wait_for_selector("#result:not([hidden]), #error:not([hidden])", timeout=60_000)
    assert app.count("/api/v1/classify") == 1  # that one photo, once the person said yes


def test_a_heic_photo_is_sent_only_after_the_page_says_this_browser_cannot_read_it(device_page, app, ccsn_test_photos,
                                                                                  artifacts_dir):
    page = device_page
    page.set_input_files("#photo", files=[heic(ccsn_test_photos["Ct"][0])])
    page.wait_for_selector("#ask:not([hidden])")
    assert "cannot read HEIC photos" in page.inner_text("#ask-why")
    page.screenshot(path=str(artifacts_dir / "web-ask-heic-phone.png"))
    sent_when_pressed(page, app, "#ask-send")
    assert "You chose to send it: this browser cannot read HEIC photos" in page.inner_text("#where")


def test_server_mode_downloads_no_model_and_no_runtime(browser, app, ccsn_test_photos):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(USE_SERVER)
    page = context.new_page()
    page.goto(app.url + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is False
    assert page.is_hidden("#model-progress")
    page.set_input_files("#photo", str(ccsn_test_photos["Cu"][1]))
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    assert page.evaluate("window.cloudatlas.lastAnswer.where") == "server"
    page.reload()  # the service worker has installed by now: it did not fetch them either
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_timeout(500)
    assert [p for p in app.paths if p in LARGE] == []
    context.close()


def test_offline_in_server_mode_the_stored_model_answers(device_page, app, ccsn_test_photos, classifier):
    page = device_page
    page.check("#use-server")
    page.context.set_offline(True)
    photo = ccsn_test_photos["Ct"][2]
    page.set_input_files("#photo", str(photo))
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    answer = page.evaluate("window.cloudatlas.lastAnswer")
    assert answer["where"] == "device" and answer["predictions"][0]["label"] == classifier.predict(photo).label
    assert "the server could not be reached" in page.inner_text("#where").lower()
    page.context.set_offline(False)


def test_offline_in_server_mode_without_a_stored_model_says_it_needs_the_network(browser, app, ccsn_test_photos,
                                                                                 artifacts_dir):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(USE_SERVER)
    page = context.new_page()
    page.goto(app.url + "/")
    page.wait_for_function("() => window.cloudatlas.engine === 'server'")
    context.set_offline(True)
    page.set_input_files("#photo", str(ccsn_test_photos["Cu"][2]))
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    message = page.inner_text("#error")
    assert "needs the network" in message and "Could not reach" not in message
    assert in_view(page, "#error-text") and photo_shown(page, "#error")  # the error, in view, with the photo
    page.screenshot(path=str(artifacts_dir / "web-offline-server-mode-phone.png"))
    context.close()
