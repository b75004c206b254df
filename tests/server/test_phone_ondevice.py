"""The model on the device, in real headless Chromium: the page runs the ONNX model itself
(onnxruntime-web), gives the same probabilities as Python's Classifier and words its answers by
the same rule (confidence, level first, headline, the contrail exception), and uploads nothing;
the server answers only when the person chooses it or says yes for a photo."""
import csv

import numpy as np
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


def test_without_webassembly_the_page_asks_before_the_server_answers(browser, server, ccsn_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("delete window.WebAssembly")
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(server + "/")
    page.set_input_files("#photo", str(test_photos(ccsn_dir, 1)[0]))
    page.wait_for_selector("#ask:not([hidden])")
    assert "cannot run the model" in page.inner_text("#ask-why")
    assert not [u for u in requests if "/api/v1/classify" in u]  # nothing sent before the person says so
    page.click("#ask-send")
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    assert page.evaluate("window.cloudatlas.lastAnswer.where") == "server"
    assert len([u for u in requests if "/api/v1/classify" in u]) == 1
    assert "on the server" in page.inner_text("#where")
    assert not [u for u in requests if "/model.onnx" in u]  # a browser that cannot run it does not fetch it
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
    """The clear-sky verdict and its contrail exception are applied on the device too, by the rule
    of inference/verdict.py."""
    from cloudatlas.inference.verdict import verdict_of

    cases = [(0.2, None, 0.5, None, False), (0.9, 0.8, 0.5, 0.6, False), (0.9, 0.2, 0.5, 0.6, False),
             (0.4, 0.9, 0.5, 0.6, False), (None, 0.7, None, 0.6, False), (0.9, None, 0.5, 0.6, False),
             (0.5, 0.6, 0.5, 0.6, False), (0.9, 0.8, 0.5, 0.6, True), (0.2, 0.8, 0.5, 0.6, True)]
    got = device_page.evaluate("""async cases => {
        const { verdictOf } = await import('/static/js/answer.js');
        return cases.map(c => verdictOf(...c));
    }""", [list(c) for c in cases])
    assert got == [verdict_of(*c) for c in cases]


WORDED = ("verdict", "confidence", "level", "level_confidence", "headline")


def pythons_words(pred) -> dict:
    out = pred.to_dict()
    return {k: out[k] for k in WORDED} | {"levels": out["levels"],
                                         "predictions": [(p["label"], p["probability"]) for p in out["predictions"]]}


def js_claims(page, outputs: list[dict]) -> list[dict]:
    """answer.js's claims() on raw model outputs, with the thresholds and levels /api/v1/model sends."""
    got = page.evaluate("""async outputs => {
        const { claims } = await import('/static/js/answer.js');
        const meta = await (await fetch('/api/v1/model')).json();
        return outputs.map(o => claims(meta, o));
    }""", outputs)
    return [{k: g[k] for k in WORDED} | {"levels": g["levels"],
                                         "predictions": [(p["label"], p["probability"]) for p in g["predictions"]]}
            for g in got]


def test_the_answer_rule_in_the_browser_is_pythons(device_page, classifier, ccsn_test_photos):
    """The page words an answer from the model's numbers exactly as the Python Classifier does: the
    same raw outputs give the same verdict, confidence, levels, level first and headline; made-up
    outputs reach every branch (sure, likely, level first, not sure, a contrail on a clear sky)."""
    names = ["probabilities"] + [n for n in ("cloud_score", "clear_sky_score") if n in classifier.outputs]
    outputs, expected = [], []
    for label in ccsn_test_photos:
        for path in ccsn_test_photos[label][:2]:
            raw = dict(zip(names, classifier.session.run(names, {classifier.input_name: classifier.preprocess(path)[None]})))
            outputs.append({"probabilities": raw["probabilities"][0].tolist(),
                            "cloud_score": float(raw["cloud_score"][0]) if "cloud_score" in raw else None,
                            "clear_sky_score": float(raw["clear_sky_score"][0]) if "clear_sky_score" in raw else None})
            expected.append(pythons_words(classifier.predict(path)))
    labels = classifier.labels
    vl, li = classifier.thresholds["genus"]["very_likely"], classifier.thresholds["genus"]["likely"]
    level_vl = classifier.thresholds["level"]["very_likely"]
    clear = (classifier.clear_threshold or 0.5) + 0.01

    def made_up(top: dict, cloud=0.99, clear_score=0.0):
        """Probabilities with ``top`` as given and the rest shared evenly (the thresholds decide
        which branch each case reaches, whatever the model file measured)."""
        probs = np.zeros(len(labels), dtype=np.float32)
        for code, p in top.items():
            probs[labels.index(code)] = p
        left = [i for i in range(len(labels)) if labels[i] not in top]
        probs[left] = (1 - sum(top.values())) / len(left)
        return probs, cloud, clear_score

    sc = li - 0.02  # unsure of the genus, sure of the level: the low genera hold level_vl + 0.02
    need = level_vl + 0.02 - sc
    st = min(sc - 0.01, need)
    cu = min(st - 0.01, need - st)
    tie = min(0.3, li - 0.02)
    cases = [made_up({"Cu": min(0.99, vl + 0.05)}), made_up({"Cu": (li + vl) / 2}),
             made_up({"Sc": sc, "St": st, "Cu": cu, "Cb": need - st - cu}),
             made_up({"Ac": tie, "Cu": tie, "Ci": tie}),
             made_up({"Ct": min(0.99, vl + 0.05)}, clear_score=clear), made_up({"Ct": (li + vl) / 2}, clear_score=clear),
             made_up({"Cu": min(0.99, vl + 0.05)}, cloud=0.0)]
    for probs, cloud, clear_score in cases:
        scores = np.array([cloud], dtype=np.float32) if classifier.gate_threshold is not None else None
        clears = np.array([clear_score], dtype=np.float32) if classifier.clear_threshold is not None else None
        outputs.append({"probabilities": probs.tolist(), "cloud_score": None if scores is None else float(scores[0]),
                        "clear_sky_score": None if clears is None else float(clears[0])})
        expected.append(pythons_words(classifier._to_predictions(probs[None], scores, clears)[0]))
    got = js_claims(device_page, outputs)
    for g, e in zip(got, expected):
        assert g["predictions"] == [tuple(p) for p in e["predictions"]]
        assert g == {**e, "predictions": g["predictions"]}
    said = {e["headline"].split(":")[0] for e in expected}
    assert {"Very likely", "Likely", "A low cloud", "Not sure", "This does not look like a sky photo"} <= said
    assert expected[-3]["verdict"] == "cloud" and expected[-2]["verdict"] == "clear_sky"  # the contrail exception


def test_on_device_answers_are_worded_as_pythons(device_page, classifier, ccsn_dir):
    """CCSN test photos answered in the page: the same verdict, confidence, level and headline as the
    Python Classifier wherever the browser's probabilities (within TOLERANCE of Python's) cannot fall
    on the other side of a threshold."""
    t = classifier.thresholds
    cuts = {"genus": [t["genus"]["very_likely"], t["genus"]["likely"]],
            "level": [t["level"]["very_likely"], t["level"]["likely"]]}
    compared = 0
    for path in test_photos(ccsn_dir, 16):
        expected = classifier.predict(path)
        answer = classify_in_page(device_page, path)
        near = any(abs(expected.probability - c) <= TOLERANCE for c in cuts["genus"]) or \
            any(abs(expected.levels[0].probability - c) <= TOLERANCE for c in cuts["level"])
        if near:
            continue
        compared += 1
        for key in WORDED:
            assert answer[key] == expected.to_dict()[key], (path.name, key)
    assert compared >= 10


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
