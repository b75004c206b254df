"""The calibrator: the temperature it finds, the graph it writes, and the words it sets."""
import numpy as np
import onnx
import pytest

from cloudatlas.config import CalibrationConfig
from cloudatlas.export.calibrate import (Calibration, apply, fit_calibration, fit_temperature, uncalibrated,
                                         word_thresholds, write_calibration)
from cloudatlas.inference import Classifier, bundled_model_path


def _overconfident(n=3000, k=5, sharpen=2.0, seed=0):
    """Labels drawn from softmax(z); the 'model' says softmax(sharpen * z): too sure by ``sharpen``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, k))
    true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in true])
    model = np.exp(sharpen * z) / np.exp(sharpen * z).sum(1, keepdims=True)
    return model, y


def test_the_temperature_undoes_overconfidence():
    probs, y = _overconfident(sharpen=2.0)
    t, a, bias = fit_temperature(probs, y, None)
    assert t == pytest.approx(2.0, rel=0.08) and a == 0 and not bias.any()
    calibrated = fit_calibration(probs, y, list("abcde"), CalibrationConfig(), None)
    assert calibrated.after["ece"] < 0.03 < calibrated.before["ece"]
    assert calibrated.cross_fitted["ece"] < 0.04  # fitted on one half, it holds on the other


def test_a_shifted_prior_is_learned_and_an_unseen_class_keeps_its_odds():
    rng = np.random.default_rng(1)
    n, k = 2000, 4
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])          # class 3 never appears in the calibration photos
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), y] += 0.3                          # a weak, prior-blind model
    probs /= probs.sum(1, keepdims=True)
    t, a, bias = fit_temperature(probs, y, train_prior=np.full(k, 0.25))
    assert a > 0 and bias[0] > bias[1] > bias[2]
    assert bias[3] == 0  # no photos of it: its odds are left alone


def test_the_prior_shift_goes_no_further_than_the_recipe_allows():
    rng = np.random.default_rng(1)
    n, k = 2000, 4
    y = rng.choice(4, size=n, p=[0.7, 0.2, 0.05, 0.05])
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), y] += 0.3
    probs /= probs.sum(1, keepdims=True)
    prior = np.full(k, 0.25)
    free = fit_calibration(probs, y, list("abcd"), CalibrationConfig(), prior)
    capped = fit_calibration(probs, y, list("abcd"), CalibrationConfig(max_prior_power=0.5), prior)
    none = fit_calibration(probs, y, list("abcd"), CalibrationConfig(max_prior_power=0.0), prior)
    assert free.prior_power > 0.5 and capped.prior_power == 0.5 and none.prior_power == 0
    assert not any(none.bias)


def test_thresholds_are_where_answers_were_right_often_enough():
    confidence = np.linspace(1, 0, 100)
    correct = np.r_[np.ones(30), np.tile([1, 0], 35)].astype(bool)  # all right above 0.7, half right below
    t = word_thresholds(confidence, correct, {"very_likely": 0.9, "likely": 0.7})
    surest = confidence >= t["very_likely"]
    assert correct[surest].mean() >= 0.9 and correct[confidence >= t["likely"]].mean() >= 0.7
    assert t["very_likely"] > t["likely"]
    assert word_thresholds(confidence[:5], correct[:5], {"very_likely": 0.9})["very_likely"] == 1.01  # too few


def test_the_calibration_runs_inside_the_model_file(tmp_path, ccsn_test_photos):
    raw = Classifier.load(uncalibrated(bundled_model_path()))  # the bundled file is calibrated already
    photos = [p for paths in ccsn_test_photos.values() for p in paths[:2]]
    pixels = np.stack([raw.preprocess(p) for p in photos])
    before = raw.session.run(["probabilities"], {"image": pixels})[0]
    bias = np.linspace(-0.5, 0.5, len(raw.labels))
    thresholds = {"genus": {"very_likely": 0.61, "likely": 0.42}, "level": {"very_likely": 0.77, "likely": 0.55}}
    path = write_calibration(raw.path, Calibration(2.0, list(bias), thresholds=thresholds), tmp_path / "cal.onnx")
    cal = Classifier.load(path)
    after = cal.session.run(["probabilities"], {"image": pixels})[0]
    np.testing.assert_allclose(after, apply(before, 2.0, bias), atol=1e-5)
    assert cal.thresholds == thresholds  # the words follow what was measured
    top = cal.predict(photos[0])
    assert top.confidence == ("very_likely" if top.probability >= 0.61 else "likely" if top.probability >= 0.42
                              else "unsure")
    # calibrating again replaces the calibration, it does not stack a second one on the first
    again = write_calibration(path, Calibration(1.0, [0.0] * len(raw.labels)), tmp_path / "again.onnx")
    np.testing.assert_allclose(Classifier.load(again).session.run(["probabilities"], {"image": pixels})[0],
                               before, atol=1e-5)
    n_nodes = lambda p: sum(n.name.startswith("cloudatlas_calibration/") for n in onnx.load(str(p)).graph.node)
    assert n_nodes(again) == n_nodes(path) == 5
