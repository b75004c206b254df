"""Models for the gate and server tests.

Both use the bundled model, which ships with the package: the gate tests fit quick gates on its
embedding (written under pytest's session temp dir, shared by the fixtures of tests/gate), the
server tests serve it as it is, with the sky and clear-sky gates it was calibrated with.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudatlas.inference import Classifier, bundled_model_path

QUICK_PER_SET = 30  # images per part for the quick gate: 30 clouds vs 60 negatives to fit


def dev_model(base: Path | None = None) -> Path:
    """The bundled model, whose embedding the gate tests fit on (``base`` is unused)."""
    path = bundled_model_path()
    if not path.is_file():
        pytest.fail(f"{path}: the bundled model is missing; it ships with the package")
    return path


def quick_gated_model(base: Path, ccsn_dir: Path, not_cloud_dir: Path) -> tuple[Path, dict]:
    """``dev_model`` with a gate fitted on a few dozen images; returns the file and the report."""
    path, report_path = base / "quick-gated.onnx", base / "quick-gate-report.json"
    if not path.exists():
        from cloudatlas.config import GateConfig, Recipe
        from cloudatlas.gate import fit_gates

        config = GateConfig(not_sky=str(not_cloud_dir), seed=0, limit=QUICK_PER_SET)
        report = fit_gates(dev_model(base), Recipe.from_folder(ccsn_dir), config=config, out_path=path,
                           threads=1, cache_dir=base / "embeddings")
        report_path.write_text(json.dumps(report.to_dict()))
    return path, json.loads(report_path.read_text())


def served_model(base: Path | None = None, ccsn_dir: Path | None = None, not_cloud_dir: Path | None = None) -> Path:
    """The model the server tests run: the bundled one, with its own gate (the arguments are unused)."""
    path = dev_model(base)
    if Classifier.load(path, threads=1).gate_threshold is None:
        pytest.fail(f"{path}: the bundled model has no sky gate; the server tests need its verdicts")
    return path
