"""One ONNX file from several training runs: other seeds, or other backbones.

Runs of one backbone form a group whose frozen blocks are checked to be identical and computed
once. Every member counts once in the average of probabilities. All members see the same input,
``img_size`` (default: the largest the runs were trained at). Metadata comes from the first run,
with each member's figures; the ensemble's own validation figures are measured on the
validation photos the runs share (the same data and split seed).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from ..metadata import read_metadata, update_metadata
from .onnx_export import MemberGroup, export_onnx

WEIGHTS_FILES = ("refit.pt", "last.pt")  # the run's final weights: a refit's, else the chosen epoch's


def run_weights(run: Path) -> dict:
    for name in WEIGHTS_FILES:
        if (run / name).exists():
            ckpt = torch.load(run / name, map_location="cpu", weights_only=True)
            return ckpt["best_weights"]
    raise FileNotFoundError(f"{run}: no {' or '.join(WEIGHTS_FILES)} (is it a training run folder?)")


def _settings(meta: dict) -> tuple[dict, dict]:
    """(student, data) settings a run's model file records."""
    config = meta.get("training", {}).get("config", {})
    return config.get("student", {}), config.get("data", {})


def export_ensemble(run_dirs: list[str | Path], path: str | Path, flip_tta: bool = False,
                    fp16_weights: bool = False, img_size: int | None = None) -> Path:
    from ..model import get_backbone

    runs = [Path(r) for r in run_dirs]
    metas = [read_metadata(r / "model.onnx") for r in runs]
    students, datas = zip(*map(_settings, metas))
    if len({json.dumps(d.get("split_seed", 0)) for d in datas}) != 1:
        raise ConfigError("Runs differ in split_seed: their validation parts differ, so they cannot "
                          "be compared or combined.")
    if any(m["labels"] != metas[0]["labels"] for m in metas):
        raise ConfigError("Runs were trained on different labels.")
    if any(m["preprocessing"] != metas[0]["preprocessing"] for m in metas):
        raise ConfigError("Runs normalise their input differently: they cannot share one input.")
    by_arch: dict[str, list[tuple[nn.Module, dict]]] = {}
    for run, student in zip(runs, students):
        model = get_backbone(student["arch"]).create(len(metas[0]["labels"]), weights=None)
        model.load_state_dict(run_weights(run))
        by_arch.setdefault(student["arch"], []).append((model.eval(), student))
    groups = [MemberGroup([m for m, _ in group], get_backbone(arch).structure, _shared_blocks(arch, group))
              for arch, group in by_arch.items()]
    meta = dict(metas[0])
    meta["img_size"] = int(img_size or max(m["img_size"] for m in metas))
    meta["arch"] = "+".join(by_arch)
    meta["test_time_augmentation"] = "horizontal flip" if flip_tta else None
    meta["ensemble"] = {"members": len(runs), "shared_blocks": {a: g.shared_blocks for a, g in zip(by_arch, groups)},
                        "runs": [{"arch": s["arch"], "img_size": m["img_size"], "seed": s["seed"],
                                  "freeze_to": s["freeze_to"], "epochs": s["epochs"]}
                                 for s, m in zip(students, metas)],
                        "valid": [m["metrics"]["valid"] for m in metas]}
    meta["training"] = {**meta["training"], "seeds": [s["seed"] for s in students],
                        "seconds": sum(m["training"]["seconds"] for m in metas)}
    meta["metrics"] = {}
    path = export_onnx(groups, path, meta, flip_tta=flip_tta, fp16_weights=fp16_weights)
    meta["metrics"]["valid"] = _validate_ensemble(path, runs[0])
    update_metadata(path, metrics=meta["metrics"])
    return path


def _shared_blocks(arch: str, group: list[tuple[nn.Module, dict]]) -> int:
    """Blocks frozen in every member of a same-backbone group; checked to be identical."""
    from ..model import get_backbone

    shared = min(int(student["freeze_to"] or 0) for _, student in group)
    if shared:
        prefixes = get_backbone(arch).structure.lower_state_prefixes(shared)
        ref = group[0][0].state_dict()
        for other, _ in group[1:]:
            for key, value in other.state_dict().items():
                if key.startswith(prefixes) and not torch.equal(value, ref[key]):
                    raise ConfigError(f"Frozen weights differ ({key}): runs must share their frozen blocks.")
    return shared


def _validate_ensemble(path: Path, run: Path) -> dict:
    """Score the ensemble on the validation photos of its first run (the same for every member)."""
    from ..data.assemble import SourcedSample
    from ..evaluate import evaluate_samples
    from ..inference import Classifier

    record = json.loads((run / "data.json").read_text())
    samples = [SourcedSample(Path(p), label) for p, label in record["parts"]["valid"]]
    return evaluate_samples(Classifier.load(path), samples, "valid", progress=False).report.brief()
