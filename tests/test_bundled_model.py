"""The bundled model keeps its accuracy floor on the CCSN benchmark split (513 test photos).

The floors guard the shipped model against regressions: they sit just under what it measures
(accuracy 0.554, macro-F1 0.539; MODEL_CARD.md). The project's target (0.65 / 0.62) is higher
and not reached yet; raise these floors with every better model.
"""
import pytest

from cloudatlas import Classifier
from cloudatlas.evaluate import evaluate
from cloudatlas.inference import bundled_model_path

ACCURACY_FLOOR = 0.54
MACRO_F1_FLOOR = 0.52


@pytest.fixture(scope="module")
def test_result(ccsn_dir):
    return evaluate(None, ccsn_dir, split="test", progress=False)


def test_bundled_model_is_small_and_self_describing():
    path = bundled_model_path()
    assert path.stat().st_size < 20e6
    clf = Classifier.load()
    meta = clf.metadata
    assert clf.labels == ["Ac", "As", "Cb", "Cc", "Ci", "Cs", "Ct", "Cu", "Ns", "Sc", "St"]
    assert meta["training"]["split"] == "train"
    assert meta["preprocessing"]["normalisation_in_graph"]["mean"] == [0.5, 0.5, 0.5]
    assert "test" in meta["metrics"] and "valid" in meta["metrics"]


def test_bundled_model_reaches_the_accuracy_floor_on_ccsn_test(test_result):
    report = test_result.report
    assert report.n == 513
    assert report.accuracy >= ACCURACY_FLOOR, report.accuracy
    assert report.macro_f1 >= MACRO_F1_FLOOR, report.macro_f1


def test_recorded_test_metrics_are_the_measured_ones(test_result):
    recorded = Classifier.load().metadata["metrics"]["test"]
    assert recorded["accuracy"] == pytest.approx(test_result.report.accuracy, abs=0.002)
