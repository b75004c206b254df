"""int8 export: the keep-or-drop decision is made on validation photos, never on the test split."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.export.quantize import quantize_int8, validation_part
from cloudatlas.inference import METADATA_KEY, Classifier

from ..conftest import copy_subset

LABELS = ["Ci", "Cu", "Ns"]
SIZE = 16  # a tiny input keeps quantisation to a second or so


def tiny_model(path: Path, meta_extra: dict | None = None) -> Path:
    """A CloudAtlas-shaped ONNX model (uint8 NHWC in, ``probabilities`` out) small enough to
    quantise in a test: mean colour -> linear layer -> softmax. Its accuracy does not matter."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Cast", ["pixels"], ["x"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1, 2], keepdims=0),
             helper.make_node("MatMul", ["mean", "w"], ["logits0"]),
             helper.make_node("Add", ["logits0", "b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["N", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(LABELS)])],
        [numpy_helper.from_array(rng.normal(0, 0.05, (3, len(LABELS))).astype(np.float32), "w"),
         numpy_helper.from_array(np.zeros(len(LABELS), np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps({"labels": LABELS, "img_size": SIZE, **(meta_extra or {})})
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def split_data(tmp_path, ccsn_dir) -> tuple[Path, set[Path]]:
    """Eight photos of each of three genera; the last two of each are the test split."""
    root = copy_subset(ccsn_dir, tmp_path / "data", LABELS, 8)
    test = set()
    with open(root / "split.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "split", "group"])
        for label in LABELS:
            photos = sorted((root / label).glob("*.jpg"))
            for i, photo in enumerate(photos):
                part = "test" if i >= len(photos) - 2 else "train"
                writer.writerow([f"{label}/{photo.name}", label, part, ""])
                if part == "test":
                    test.add(photo)
    return root, test


@pytest.fixture
def opened(monkeypatch) -> list[Path]:
    """Every photo path a Classifier decodes (calibration and evaluation both go through it)."""
    seen: list[Path] = []
    original = Classifier.preprocess

    def spy(self, source):
        seen.append(Path(source))
        return original(self, source)

    monkeypatch.setattr(Classifier, "preprocess", spy)
    return seen


def test_decision_uses_a_validation_part_of_the_train_split_and_never_reads_test(tmp_path, split_data, opened):
    data, test = split_data
    result = quantize_int8(tiny_model(tmp_path / "model.onnx"), data, n_calibration=8)
    assert opened and not test & set(opened)
    assert "validation" in result.reason and "test" not in result.reason
    assert result.checked_on == "a validation part carved from the train split"
    assert result.n_checked == 3  # 15 % of each genus' six train photos, rounded: one each


def test_a_run_folder_decides_on_its_own_validation_photos(tmp_path, split_data, opened):
    data, test = split_data
    valid_files = ["Ci/" + sorted((data / "Ci").glob("*.jpg"))[0].name,
                   "Cu/" + sorted((data / "Cu").glob("*.jpg"))[1].name]
    run = tmp_path / "run"
    model = tiny_model(run / "model.onnx")
    parts = {"valid": [[str(data / key), key.split("/")[0]] for key in valid_files]}
    (run / "data.json").write_text(json.dumps({"parts": parts}))
    result = quantize_int8(model, data, n_calibration=8)
    assert "data.json" in result.checked_on and result.n_checked == 2
    assert {data / key for key in valid_files} <= set(opened)
    assert not test & set(opened)


def test_calibration_and_validation_photos_never_overlap_and_exclude_test(tmp_path, split_data):
    data, test = split_data
    model = tiny_model(tmp_path / "model.onnx", {"training": {"config": {"data": {"valid_frac": 0.5, "split_seed": 3}}}})
    calib, valid, _ = validation_part(model, data, Classifier.load(model).metadata)
    calib_paths, valid_paths = {s.path for s in calib}, {s.path for s in valid}
    assert len(valid_paths) == 9  # the model's recorded valid_frac (half of six per genus), not the default
    assert not calib_paths & valid_paths
    assert not (calib_paths | valid_paths) & test
    assert len(calib_paths | valid_paths) == 18


def test_cli_reports_the_validation_part(tmp_path, split_data, capsys):
    from cloudatlas.cli import main

    data, _ = split_data
    model = tiny_model(tmp_path / "model.onnx")
    assert main(["export", "--model", str(model), "--int8", "--data", str(data), "--calibration", "8"]) == 0
    out = capsys.readouterr().out
    assert "validation accuracy" in out and "carved from the train split" in out
