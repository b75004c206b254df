"""Models for the gate and server tests, built once per test session.

The bundled model is used when it is there. Until it is, a development model stands in: the
ImageNet backbone of EfficientNet-Lite0 with a random (seeded) head, exported like any trained
run. Its genus guesses are meaningless, but its embedding separates sky photos from other
images, which is what the gate and the server need; the head is random rather than the zeros a
fresh training run starts from, so that probabilities and heat maps differ between photos. Files go under pytest's session temp dir, so the
fixtures of tests/gate and tests/server share them.
"""
from __future__ import annotations

import json
from pathlib import Path

from cloudatlas.inference import Classifier, bundled_model_path

QUICK_PER_SET = 30  # images per part for the quick gate: 30 clouds vs 60 negatives to fit


def dev_model(base: Path) -> Path:
    bundled = bundled_model_path()
    if bundled.is_file():
        return bundled
    path = base / "dev-model.onnx"
    if not path.exists():
        from cloudatlas.export import build_metadata, export_onnx
        from cloudatlas.labels import GENERA
        from cloudatlas.model import create_model, get_backbone

        import torch

        spec = get_backbone("efficientnet_lite0")
        model = create_model("efficientnet_lite0", len(GENERA)).eval()
        torch.manual_seed(0)
        torch.nn.init.normal_(model.get_classifier().weight, std=0.05)
        meta = build_metadata(sorted(GENERA), 224, "efficientnet_lite0", spec.mean, spec.std,
                              name="cloudatlas-dev-untrained")
        base.mkdir(parents=True, exist_ok=True)
        export_onnx(model, base / "dev-model.tmp.onnx", meta).rename(path)
    return path


def quick_gated_model(base: Path, ccsn_dir: Path, not_cloud_dir: Path) -> tuple[Path, dict]:
    """``dev_model`` with a gate fitted on a few dozen images; returns the file and the report."""
    path, report_path = base / "quick-gated.onnx", base / "quick-gate-report.json"
    if not path.exists():
        from cloudatlas.gate import fit_gate

        report = fit_gate(dev_model(base), ccsn_dir, not_cloud_dir, out_path=path, seed=0,
                          max_per_set=QUICK_PER_SET, threads=1, cache_dir=base / "embeddings")
        report_path.write_text(json.dumps(report.to_dict()))
    return path, json.loads(report_path.read_text())


def served_model(base: Path, ccsn_dir: Path, not_cloud_dir: Path) -> Path:
    """The model the server tests run: one with a gate (the bundled one once it has its own)."""
    model = dev_model(base)
    if Classifier.load(model).gate_threshold is not None:
        return model
    return quick_gated_model(base, ccsn_dir, not_cloud_dir)[0]
