"""cloudatlas evaluate on real photos: JSON contract, plots, and the metrics themselves."""
import json
import subprocess
import sys

import numpy as np
import pytest

from cloudatlas.evaluate.metrics import classification_report


def test_metrics_match_a_hand_computed_example():
    # given: 0 0 0 1 1 2 ; predicted: 0 0 1 1 2 2
    r = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert r.accuracy == pytest.approx(4 / 6, abs=1e-4)
    assert r.per_class["a"] == {"precision": 1.0, "recall": pytest.approx(0.6667, abs=1e-4),
                                "f1": pytest.approx(0.8, abs=1e-4), "support": 3}
    assert r.per_class["c"]["precision"] == 0.5 and r.per_class["c"]["recall"] == 1.0
    assert r.confusion_matrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    expected_f1 = np.mean([0.8, 0.5, 2 / 3])
    assert r.macro_f1 == pytest.approx(expected_f1, abs=1e-4)


@pytest.fixture(scope="module")
def small_eval_data(tmp_path_factory, ccsn_dir):
    """Test-split photos of three genera, with a split.csv that points at them."""
    import csv
    import shutil

    root = tmp_path_factory.mktemp("evaldata")
    rows, per_label = [], {}
    with open(ccsn_dir / "split.csv") as f:
        for row in csv.DictReader(f):
            label = row["label"]
            if label in ("Cb", "Ct", "Ns") and row["split"] == "test" and per_label.get(label, 0) < 10:
                per_label[label] = per_label.get(label, 0) + 1
                rows.append(row)
    for row in rows:
        (root / row["label"]).mkdir(exist_ok=True)
        shutil.copy2(ccsn_dir / row["path"], root / row["path"])
    (root / "Ct" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    rows.append({"path": "Ct/broken.jpg", "label": "Ct", "split": "test", "group": "x"})
    with open(root / "split.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "split", "group"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_evaluate_json_is_one_object_with_the_contract(small_eval_data, tmp_path):
    out = tmp_path / "eval"
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "evaluate", "--data", str(small_eval_data),
                           "--split", "test", "--json", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # exactly one JSON document on stdout
    for key in ("accuracy", "macro_f1", "n", "labels", "per_class", "confusion_matrix"):
        assert key in result
    assert result["n"] == 30
    assert len(result["unreadable"]) == 1 and "broken.jpg" in result["unreadable"][0]
    cm = np.array(result["confusion_matrix"])
    assert cm.sum() == 30 and cm.shape == (len(result["labels"]),) * 2
    assert result["accuracy"] == pytest.approx(np.trace(cm) / 30, abs=1e-3)
    assert set(result["per_class"]["Cb"]) == {"precision", "recall", "f1", "support"}
    for name in ("metrics.json", "confusion_matrix.png", "top_losses.png", "predictions.csv"):
        assert (out / name).stat().st_size > 0


def test_evaluate_table_output(small_eval_data):
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "evaluate", "--data", str(small_eval_data)],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert "macro avg" in proc.stdout and "Cb cumulonimbus" in proc.stdout


NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not installed here")
sys.meta_path.insert(0, _NoTorch())
from cloudatlas.cli import main
code = main(sys.argv[1:])
assert "torch" not in sys.modules
sys.exit(code)
"""


def test_evaluate_record_and_metadata_need_no_torch(small_eval_data, tmp_path):
    """A runtime install has no torch: recording figures into the model must still work."""
    import shutil

    from cloudatlas.inference import bundled_model_path
    from cloudatlas.metadata import read_metadata

    model = tmp_path / "model.onnx"
    shutil.copy(bundled_model_path(), model)
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "evaluate", "--model", str(model), "--data",
                           str(small_eval_data), "--split", "test", "--record"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    recorded = read_metadata(model)["metrics"]["test"]
    assert recorded["n"] == 30 and 0 <= recorded["accuracy"] <= 1
    shown = subprocess.run([sys.executable, "-c", NO_TORCH, "export", "--model", str(model)],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["metrics"]["test"]["n"] == 30
