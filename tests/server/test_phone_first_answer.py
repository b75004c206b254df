"""First answer fast (issue 16, point 1), in real headless Chromium: the model and the runtime start
in the worker as the page loads, not on the first photo; the download's real size and a progress
bar are in view; a photo chosen while the model is still on its way can be answered on the server
at once ("Answer now on the server (the photo is sent)"), or waits and is answered on the device.
How fast is measured by benchmarks/page.py, not here."""
import pytest

from .phone_helpers import LARGE, PHONE, in_view, photo_shown, recorded_server, sent_when_pressed, wait_until

pytestmark = pytest.mark.browser


def megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@pytest.fixture
def held(classifier):
    """A server whose model and runtime downloads wait until the test releases them."""
    with recorded_server(classifier) as app:
        app.hold()
        yield app
        app.release()


def test_the_model_starts_at_page_load_with_its_real_size_and_a_progress_bar_in_view(browser, held, artifacts_dir):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(held.url + "/")
    info = page.evaluate("fetch('/api/v1/model').then(r => r.json())")
    total = info["bytes"] + info["runtime"]["bytes"]
    # no photo yet, and the worker already asks for the model and the runtime
    page.wait_for_function("() => document.getElementById('progress-text').textContent.includes('MB')")
    wait_until(lambda: all(held.count(path) == 1 for path in LARGE))
    assert page.is_visible("#progress-bar") and in_view(page, "#model-progress")
    assert megabytes(total) in page.inner_text("#progress-text")  # what really comes down: model + runtime
    assert total > info["bytes"] * 1.2
    page.screenshot(path=str(artifacts_dir / "web-progress-phone.png"))
    held.release()
    # the bar fills with the bytes as they arrive; once the model runs, the box goes
    page.wait_for_function("() => document.getElementById('progress-bar').value > 0")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    assert page.evaluate("document.getElementById('progress-bar').value") == 1
    assert page.is_hidden("#model-progress")
    context.close()


def test_while_the_model_downloads_a_photo_can_be_answered_on_the_server_at_once(browser, held, ccsn_test_photos,
                                                                               artifacts_dir):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(held.url + "/")
    page.wait_for_function("() => document.getElementById('progress-text').textContent.includes('MB')")
    page.set_input_files("#photo", str(ccsn_test_photos["Cu"][0]))
    page.wait_for_selector("#waiting:not([hidden])")
    assert in_view(page, "#answer-on-server") and in_view(page, "#model-progress")
    assert page.inner_text("#answer-on-server") == "Answer now on the server (the photo is sent)"
    page.wait_for_function("() => document.querySelector('#waiting .photo-slot #thumb-img')?.naturalWidth > 0")
    assert photo_shown(page, "#waiting")
    page.screenshot(path=str(artifacts_dir / "web-waiting-phone.png"))
    sent_when_pressed(page, held, "#answer-on-server")  # it waited: nothing was sent unasked
    assert "while the model was downloading" in page.inner_text("#where")
    # the model arrives: the next photo is answered on the device, and not sent
    held.release()
    assert page.evaluate("window.cloudatlas.modelReady") is True
    page.evaluate("window.cloudatlas.lastAnswer = null")
    page.set_input_files("#photo", str(ccsn_test_photos["Ct"][0]))
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    assert page.evaluate("window.cloudatlas.lastAnswer.where") == "device"
    assert held.count("/api/v1/classify") == 1
    context.close()


def test_a_photo_chosen_before_the_model_is_answered_on_the_device_once_it_is_here(browser, held, ccsn_test_photos):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(held.url + "/")
    page.set_input_files("#photo", str(ccsn_test_photos["Ct"][1]))
    page.wait_for_selector("#waiting:not([hidden])")
    held.release()
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=120_000)
    assert page.evaluate("window.cloudatlas.lastAnswer.where") == "device"
    assert page.is_hidden("#waiting")
    assert held.count("/api/v1/classify") == 0
    context.close()


def test_a_return_visit_reads_the_model_from_this_device_and_starts_it_without_a_photo(browser, classifier):
    with recorded_server(classifier) as app:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(app.url + "/")
        assert page.evaluate("window.cloudatlas.modelReady") is True
        downloads = app.count("/model.onnx")
        page.reload()
        # started at load again (no photo chosen), from the caches: nothing large comes down twice
        assert page.evaluate("window.cloudatlas.modelReady") is True
        assert app.count("/model.onnx") == downloads == 1
        assert app.count("/static/vendor/ort/ort-wasm-simd-threaded.wasm") == 1
        context.close()


def test_the_page_says_how_much_a_first_visit_downloads_before_any_script_runs(client):
    """On a slow link the scripts arrive seconds after the first paint; the page itself says the size."""
    info = client.get("/api/v1/model").json()
    total = info["bytes"] + info["runtime"]["bytes"]
    page = client.get("/").text
    assert f"Getting the model ready for this device: {megabytes(total)} to download, once" in page
    assert '<link rel="preload" href="/api/v1/model" as="fetch"' in page
