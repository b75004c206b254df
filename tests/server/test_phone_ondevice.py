"""The model on the device, in real headless Chromium: the page runs the ONNX model itself
(onnxruntime-web), gives the same probabilities as Python's Classifier, and uploads nothing; the
server answers only when the browser cannot run the model or the person chooses it."""
import csv

import pytest

pytestmark = pytest.mark.browser

ANSWERED = "#result:not([hidden]), #rejection:not([hidden]), #error:not([hidden]), #clear-sky:not([hidden])"
TOLERANCE = 0.02  # largest difference allowed between the browser's and Python's probabilities


def test_photos(ccsn_dir, n: int) -> list:
    """``n`` photos of the CCSN test split, spread over the genera."""
    with open(ccsn_dir / "split.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    by_label: dict[str, list] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(ccsn_dir / r["path"])
    picked = []
    while len(picked) < n:
        for photos in by_label.values():
            if photos and len(picked) < n:
                picked.append(photos.pop(0))
    return picked


test_photos.__test__ = False  # a helper, not a test


def classify_in_page(page, path, timeout=120_000) -> dict:
    page.evaluate("window.cloudatlas.lastAnswer = null")
    page.set_input_files("#photo", str(path))
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=timeout)
    return page.evaluate("window.cloudatlas.lastAnswer")


@pytest.fixture
def device_page(browser, server):
    """A phone-sized page whose every request, the service worker's included, is recorded."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(server + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    page.requests = requests
    yield page
    context.close()


def test_the_browser_gives_the_same_probabilities_as_python_without_uploading(device_page, classifier, ccsn_dir,
                                                                             artifacts_dir):
    page = device_page
    worst = 0.0
    for path in test_photos(ccsn_dir, 20):
        answer = classify_in_page(page, path)
        expected = classifier.predict(path)
        assert answer["where"] == "device"
        got = {p["label"]: p["probability"] for p in answer["predictions"]}
        for p in expected.predictions:
            worst = max(worst, abs(got[p.label] - p.probability))
        assert answer["cloud_score"] == pytest.approx(expected.cloud_score, abs=TOLERANCE)
        assert answer["verdict"] == expected.verdict, path.name
        if expected.verdict == "cloud" and expected.probability >= 0.5:
            assert answer["predictions"][0]["label"] == expected.label
    print(f"largest probability difference, browser vs Python: {worst:.5f}")
    assert worst <= TOLERANCE
    # the heat map is drawn on the device too
    assert answer["cam"].startswith("data:image/png;base64,")
    assert not [u for u in page.requests if "/api/v1/classify" in u]  # no photo left the page
    assert "on this device" in page.inner_text("#where") or page.is_visible("#rejection")


def test_a_phone_says_the_answer_was_computed_on_this_phone(browser, server, ccsn_dir, classifier):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=3)
    page = context.new_page()
    page.goto(server + "/")
    photo = next(p for p in test_photos(ccsn_dir, 22) if classifier.predict(p).verdict == "cloud")
    answer = classify_in_page(page, photo)
    assert answer["where"] == "device"
    assert page.inner_text("#where").startswith("Answered on this phone")
    assert page.is_visible("label[for=camera]")  # a touch screen gets the camera button
    context.close()


def test_without_webassembly_the_server_answers(browser, server, ccsn_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("delete window.WebAssembly")
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(server + "/")
    answer = classify_in_page(page, test_photos(ccsn_dir, 1)[0])
    assert answer["where"] == "server"
    assert [u for u in requests if "/api/v1/classify" in u]
    assert "on the server" in page.inner_text("#where")
    context.close()


def test_the_person_can_choose_the_server(browser, server, ccsn_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(server + "/")
    page.check("#use-server")
    page.reload()  # the choice is remembered
    assert page.is_checked("#use-server")
    answer = classify_in_page(page, test_photos(ccsn_dir, 1)[0])
    assert answer["where"] == "server" and [u for u in requests if "/api/v1/classify" in u]
    page.uncheck("#use-server")
    answer = classify_in_page(page, test_photos(ccsn_dir, 2)[1])
    assert answer["where"] == "device"
    assert len([u for u in requests if "/api/v1/classify" in u]) == 1
    context.close()


def test_the_verdict_rule_in_the_browser_is_pythons(device_page):
    """The clear-sky verdict is applied on the device too, by the rule of inference/verdict.py."""
    from cloudatlas.inference.verdict import verdict_of

    cases = [(0.2, None, 0.5, None), (0.9, 0.8, 0.5, 0.6), (0.9, 0.2, 0.5, 0.6), (0.4, 0.9, 0.5, 0.6),
             (None, 0.7, None, 0.6), (0.9, None, 0.5, 0.6), (0.5, 0.6, 0.5, 0.6)]
    got = device_page.evaluate("""async cases => {
        const { verdictOf } = await import('/static/js/infer.js');
        return cases.map(c => verdictOf(...c));
    }""", [list(c) for c in cases])
    assert got == [verdict_of(*c) for c in cases]


def test_the_gates_verdicts_on_the_device_are_pythons(device_page, classifier, heldout_clear_sky, heldout_not_sky):
    """Held-out clear skies and other things: the sky gate and the clear-sky gate run on the device
    and give Python's verdict and scores (the clear-sky score once the model has that gate)."""
    page = device_page
    for path in heldout_clear_sky[:4] + heldout_not_sky[:2]:
        answer = classify_in_page(page, path)
        expected = classifier.predict(path)
        assert answer["where"] == "device"
        assert answer["verdict"] == expected.verdict, path.name
        assert answer["cloud_score"] == pytest.approx(expected.cloud_score, abs=TOLERANCE)
        if expected.clear_sky_score is None:
            assert answer["clear_sky_score"] is None
        else:
            assert answer["clear_sky_score"] == pytest.approx(expected.clear_sky_score, abs=TOLERANCE)
        shown = {"cloud": "#result", "clear_sky": "#clear-sky", "not_sky": "#rejection"}[expected.verdict]
        assert page.is_visible(shown)
    assert not [u for u in page.requests if "/api/v1/classify" in u]


def test_a_clear_sky_gets_its_own_message_on_the_device(device_page, classifier, heldout_clear_sky, artifacts_dir):
    """A clear sky the clear-sky gate never saw: no genus, the plain message, computed on the device."""
    page = device_page
    photo = next(p for p in heldout_clear_sky if classifier.predict(p).verdict == "clear_sky")
    answer = classify_in_page(page, photo)
    assert answer["where"] == "device" and answer["verdict"] == "clear_sky"
    assert answer["clear_sky_score"] == pytest.approx(classifier.predict(photo).clear_sky_score, abs=TOLERANCE)
    page.wait_for_selector("#clear-sky:not([hidden])")
    assert "Clear sky: no clouds to name" in page.inner_text("#clear-sky")
    assert page.is_hidden("#result")
    assert not [u for u in page.requests if "/api/v1/classify" in u]
    page.screenshot(path=str(artifacts_dir / "web-clear-sky-device.png"), full_page=True)
