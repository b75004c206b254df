"""Training with several processes (torch.distributed, gloo on this CPU) learns, and learns what one
process learns with the same global batch and seed."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cloudatlas.inference import Classifier

SETTINGS = ["--img-size", "64", "--epochs", "4", "--freeze-epochs", "1", "--batch-size", "16", "--freeze-to", "3",
            "--cache-views", "2", "--valid-frac", "0.25", "--lr", "0.003", "--label-smoothing", "0", "--seed", "3"]


def _train(data, out, nproc, cache):
    env = {**os.environ, "CLOUDATLAS_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", "--data", str(data), "--out", str(out),
                           "--nproc", str(nproc), *SETTINGS], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()]
    head = history[0]
    rows = [dict(zip(head, r)) for r in history[1:]]
    return proc, rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ccsn_dir):
    from tests.conftest import copy_subset

    root = tmp_path_factory.mktemp("dist")
    data = copy_subset(ccsn_dir, root / "data", ["Cb", "Ci", "Ct"], 24)
    one = _train(data, root / "one", 1, root / "cache1")
    two = _train(data, root / "two", 2, root / "cache2")
    return root, one, two


@pytest.mark.slow
def test_two_processes_learn(runs):
    root, _, (proc, rows) = runs
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < 0.8 * losses[0], losses
    assert json.loads((root / "two" / "config.json").read_text())["world_size"] == 2
    assert "2 processes" in proc.stderr
    assert proc.stderr.count("model ->") == 1  # process 0 alone exports and reports
    clf = Classifier.load(root / "two" / "model.onnx")
    assert clf.labels == ["Cb", "Ci", "Ct"]


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch_and_seed(runs):
    """Each process sees half of every batch of 16 and the gradients are averaged, so the run follows
    the one-process run; only the order of photos (a distributed sampler) and the BatchNorm
    statistics of half batches differ. Tolerance: the per-epoch training loss within 25 %, the
    validation accuracy within 0.2, the same validation photos."""
    root, (_, one), (_, two) = runs
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert abs(float(a["train_loss"]) - float(b["train_loss"])) <= 0.25 * float(a["train_loss"]), (a, b)
    assert abs(float(one[-1]["valid_acc"]) - float(two[-1]["valid_acc"])) <= 0.2
    parts = [json.loads((root / name / "data.json").read_text())["parts"]["valid"] for name in ("one", "two")]
    assert parts[0] == parts[1]
    probs = [np.array([p.probability for p in Classifier.load(root / name / "model.onnx").predict_batch(
        [q for q, _ in parts[0]])]) for name in ("one", "two")]
    assert np.abs(probs[0] - probs[1]).mean() < 0.2
