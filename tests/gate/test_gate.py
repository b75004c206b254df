"""Fitting, attaching and using the gate, with the real model and real photos."""
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from cloudatlas import Classifier
from cloudatlas.config import GateConfig, Recipe
from cloudatlas.data import assemble
from cloudatlas.data.synthetic import FIT_STYLES, HELDOUT_STYLES, render_negative, synthetic_specs
from cloudatlas.export.graph import attach_scores
from cloudatlas.gate import Embedded, Gate, GateSample, choose_threshold, fit_sky_gate, gate_data
from cloudatlas.gate.data import HELDOUT_SEED_OFFSET
from cloudatlas.linear import LinearModel


def _images(ccsn_dir, not_cloud_dir):
    clouds = [sorted((ccsn_dir / g).glob("*.jpg"))[i] for g in ("Cu", "Ci", "St", "Cb", "Ac", "Ns") for i in (3, 9)]
    photos = sorted(not_cloud_dir.glob("*.jpg"))[::60][:6]
    charts = [render_negative(s) for s in synthetic_specs(6, seed=21)]
    samples = ([GateSample(f"c{i}", "cloud", "", p) for i, p in enumerate(clouds)]
               + [GateSample(f"p{i}", "photo", "", p) for i, p in enumerate(photos)]
               + [GateSample(f"s{i}", "synthetic", "", p) for i, p in enumerate(charts)])
    return samples, clouds + photos + charts


def test_gate_inside_the_onnx_model_gives_sklearn_s_probabilities(tmp_path, dev_model_path, ccsn_dir, not_cloud_dir):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    samples, sources = _images(ccsn_dir, not_cloud_dir)
    clf = Classifier.load(dev_model_path, threads=1)
    x = clf.embed(sources)
    fit = Embedded(samples, x)
    gate, _ = fit_sky_gate(fit, fit, target_accept=0.9, cs=(0.05,))
    gated = attach_scores(dev_model_path, [("cloud_score", gate.model, "gate", {"threshold": gate.threshold,
                                                                               "auroc": 1.0})], tmp_path / "gated.onnx")
    y = np.array([s.is_sky for s in samples], dtype=int)
    scaler = StandardScaler().fit(x)  # the same model, fitted by scikit-learn's own pipeline
    reference = LogisticRegression(C=0.05, class_weight="balanced", max_iter=5000).fit(scaler.transform(x), y)
    expected = reference.predict_proba(scaler.transform(x))[:, 1]
    gated_clf = Classifier.load(gated, threads=1)
    preds = gated_clf.predict_batch(sources, batch_size=7)  # several batches: [N] output per batch
    got = np.array([p.cloud_score for p in preds])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got, gate.scores(x), atol=2e-5)  # NumPy and the graph agree
    assert [p.is_cloud for p in preds] == [bool(s >= gate.threshold) for s in got]
    assert gated_clf.gate_threshold == pytest.approx(gate.threshold)
    assert gated_clf.metadata["gate"]["auroc"] == 1.0
    # the genus part of the model is untouched
    before = clf.predict_batch(sources[:3])
    after = preds[:3]
    for b, a in zip(before, after):
        assert [p.label for p in b.predictions] == [p.label for p in a.predictions]
        assert b.predictions[0].probability == pytest.approx(a.predictions[0].probability, abs=1e-6)


def test_attaching_again_replaces_the_gate_without_leftovers(tmp_path, quick_gate):
    path, _ = quick_gate
    once = onnx.load(str(path))
    again = attach_scores(path, [("cloud_score", _gate_of(path), "gate", {"threshold": 0.5})], tmp_path / "again.onnx")
    twice = onnx.load(str(again))
    assert [o.name for o in twice.graph.output].count("cloud_score") == 1
    assert len(twice.graph.node) == len(once.graph.node)
    assert len(twice.graph.initializer) == len(once.graph.initializer)
    assert Classifier.load(again).gate_threshold == 0.5


def _gate_of(path) -> LinearModel:
    """The linear model of the sky gate written into ``path``, read back from its graph."""
    proto = onnx.load(str(path))
    arrays = {i.name.split("/")[-1]: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer
              if i.name.startswith("cloudatlas_gate/")}
    return LinearModel(arrays["mean"], arrays["std"], arrays["weight"].reshape(-1, 1), arrays["bias"].reshape(1),
                       np.array([0, 1]), 2)


def test_quick_gate_separates_images_it_never_saw(quick_gate):
    """30 cloud photos against 60 other images are already enough on backbone features."""
    _, report = quick_gate
    m = report["metrics"]
    assert report["counts"]["heldout"] == {"cloud": 30, "clear_sky": 0, "photo": 30, "synthetic": 30}
    assert m["auroc"] >= 0.97 and m["auroc_photos"] >= 0.95
    assert m["cloud_accept_rate"] >= 0.85
    assert m["not_cloud_photo_accept_rate"] <= 0.15
    assert m["synthetic_accept_rate"] <= 0.1
    assert report["synthetic_styles"]["heldout_only"] == list(HELDOUT_STYLES)


def test_gated_classifier_says_a_confusion_matrix_is_not_a_cloud(quick_gate, ccsn_dir):
    clf = Classifier.load(quick_gate[0], threads=1)
    matrix = next(s for s in synthetic_specs(40, seed=4242) if s.style == "confusion_matrix")
    verdict = clf.predict(render_negative(matrix))
    assert verdict.is_cloud is False and verdict.cloud_score < clf.gate_threshold
    sky = clf.predict(ccsn_dir / "Cu" / "Cu-N010.jpg")
    assert sky.is_cloud is True
    assert sky.to_dict()["is_cloud"] is True  # what predict --json prints


@pytest.mark.parametrize("n", [1, 7, 30, 100, 371])
def test_threshold_accepts_at_least_the_target(n):
    scores = np.random.default_rng(n).beta(5, 1, n)
    for target in (0.95, 0.97, 0.99):
        t = choose_threshold(scores, target)
        assert np.mean(scores >= t) >= target
        assert np.mean(scores >= t + 2e-6) < 1.0 or n * (1 - target) < 1  # not needlessly low


def test_gate_cli_writes_a_gated_model_and_prints_json(tmp_path, dev_model_path, ccsn_dir, not_cloud_dir, model_base):
    out = tmp_path / "cli-gated.onnx"
    proc = subprocess.run(
        [sys.executable, "-m", "cloudatlas", "gate", "--model", str(dev_model_path), "--data", str(ccsn_dir),
         "--not-cloud", str(not_cloud_dir), "--out", str(out), "--limit", "12", "--threads", "1",
         "--cache", str(model_base / "embeddings"), "--json"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["counts"]["fit"] == {"cloud": 12, "clear_sky": 0, "photo": 12, "synthetic": 12}
    assert report["counts"]["heldout"] == {"cloud": 12, "clear_sky": 0, "photo": 12, "synthetic": 12}
    gated = Classifier.load(out, threads=1)
    gate, m = gated.metadata["gate"], report["metrics"]
    assert gate["threshold"] == report["threshold"] == gated.gate_threshold
    assert {k: gate[k] for k in m} == m  # the model file carries what the CLI measured
    # What even a 12-image trial gate achieves on images it never saw (with the bundled model's
    # embedding, seed 0: AUROC 0.997, 11/12 clouds pass, 1/24 other images, 0/12 charts).
    assert m["valid_cloud_accept_rate"] >= 0.97  # the threshold lets the target share through
    assert m["auroc"] >= 0.9
    assert m["cloud_accept_rate"] >= 0.75
    assert m["not_cloud_accept_rate"] <= 0.25 and m["synthetic_accept_rate"] <= 0.1
    # and the gate written into the file is the one measured: it accepts the same held-out photos
    recipe = Recipe.from_folder(ccsn_dir)
    heldout = gate_data(assemble(recipe), GateConfig(not_sky=str(not_cloud_dir), seed=0, limit=12)).heldout
    for kind, rate in (("cloud", "cloud_accept_rate"), ("photo", "not_cloud_photo_accept_rate")):
        verdicts = [p.is_cloud for p in gated.predict_batch([s.source for s in heldout if s.kind == kind])]
        assert np.mean(verdicts) == pytest.approx(m[rate], abs=1e-3), kind


def test_gate_cli_explains_a_missing_folder(tmp_path, dev_model_path, ccsn_dir):
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "gate", "--model", str(dev_model_path),
                           "--data", str(ccsn_dir), "--not-cloud", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "nowhere: no such folder" in proc.stderr and "Traceback" not in proc.stderr


def test_fit_data_never_contains_heldout_styles_or_the_heldout_seed(ccsn_dir, not_cloud_dir):
    assert not set(FIT_STYLES) & set(HELDOUT_STYLES)
    config = GateConfig(not_sky=str(not_cloud_dir), seed=5, synthetic=40, synthetic_heldout=40)
    data = gate_data(assemble(Recipe.from_folder(ccsn_dir)), config)
    fit = [s.source for s in data.fit if s.kind == "synthetic"]
    held = [s.source for s in data.heldout if s.kind == "synthetic"]
    assert {s.style for s in fit} <= set(FIT_STYLES)
    assert {s.style for s in held} & set(HELDOUT_STYLES)
    assert {s.seed for s in fit} == {5} and {s.seed for s in held} == {5 + HELDOUT_SEED_OFFSET}
    keys = lambda part: {s.key for s in part}
    assert not keys(data.fit) & keys(data.heldout) and not keys(data.valid) & keys(data.heldout)
    assert not keys(data.fit) & keys(data.valid)
    # cloud photos: only CCSN train fits or calibrates; the test split is only held out
    split = {line.split(",")[0]: line.split(",")[2] for line in (ccsn_dir / "split.csv").read_text().splitlines()[1:]}
    for s in data.fit + data.valid:
        if s.kind == "cloud":
            assert split[s.key.removeprefix("cloud/ccsn:")] == "train"
    assert {split[s.key.removeprefix("cloud/test:")] for s in data.heldout if s.kind == "cloud"} == {"test"}
