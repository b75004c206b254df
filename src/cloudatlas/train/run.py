"""``train(config)``: data -> model -> fine_tune -> a self-describing run folder.

The run folder holds config.json, data.json (what was used and left out), metrics.csv,
curves.png, confusion_matrix.png, report.json (validation) and model.onnx; last.pt lets an
interrupted run continue with the same command plus ``--resume``.
"""
from __future__ import annotations

import csv
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import DataError, load_split
from ..evaluate.metrics import ClassificationReport, classification_report, format_report
from ..evaluate.plots import plot_confusion_matrix, plot_curves
from ..export import build_metadata, export_onnx
from ..model import get_backbone
from .augment import eval_transform, train_transform, whole_view_transform
from .config import TrainConfig
from .datasets import PhotoDataset, decode_all
from .learner import Learner


@dataclass
class TrainResult:
    out: Path
    model_path: Path
    report: ClassificationReport  # on the validation part
    best_epoch: int
    seconds: float


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _limit(samples, per_class: int | None):
    if not per_class:
        return samples
    taken: dict[str, int] = {}
    out = []
    for s in samples:
        if taken.get(s.label, 0) < per_class:
            taken[s.label] = taken.get(s.label, 0) + 1
            out.append(s)
    return out


def train(config: TrainConfig, resume: bool = False) -> TrainResult:
    start = time.time()
    out = Path(config.out)
    checkpoint = out / "last.pt"
    if out.exists() and any(out.iterdir()) and not resume:
        if checkpoint.exists() or (out / "model.onnx").exists():
            raise FileExistsError(f"{out} already holds a run: pass --resume to continue it, "
                                  f"or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "config.json")
    seed_everything(config.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    data = load_split(config.data, split=config.split, valid_frac=config.valid_frac, seed=config.split_seed,
                      drop_conflicts=config.drop_conflicts)
    data.train, data.valid = _limit(data.train, config.limit_per_class), _limit(data.valid, config.limit_per_class)
    if len({s.label for s in data.train}) < 2:
        raise DataError(f"{config.data}: training needs photos of at least two labels.")
    spec = get_backbone(config.arch)
    size = config.img_size or spec.default_img_size
    labels = data.labels
    index = {label: i for i, label in enumerate(labels)}

    keep_side = size if config.feature_crop else round(size * 1.25)  # room for crops, not 12 MP
    train_imgs, train_samples, bad_train = decode_all(data.train, keep_side, "decoding train")
    valid_imgs, valid_samples, bad_valid = decode_all(data.valid, keep_side, "decoding valid")
    for problem in bad_train + bad_valid:
        print(f"skipped: {problem}", file=sys.stderr)
    (out / "data.json").write_text(json.dumps({
        "data": str(config.data), "split": config.split, "labels": labels,
        "counts": data.summary(), "left_out_conflicts": [s.key for s in data.dropped],
        "unreadable": bad_train + bad_valid, "valid_files": [s.key for s in valid_samples],
    }, indent=2) + "\n")
    print(f"{len(train_samples)} train / {len(valid_samples)} valid photos, {len(labels)} labels, "
          f"{len(data.dropped)} conflicting photos left out, {size}px, {config.arch}", file=sys.stderr)

    model = spec.create(len(labels), weights=config.weights, drop_rate=config.drop_rate)
    learner = Learner(model, config, len(labels))
    learner.cache_key = [str(Path(config.data).resolve()), [s.key for s in train_samples],
                         [s.key for s in valid_samples], config.arch, str(config.weights), size,
                         config.freeze_to, config.split_seed, config.feature_crop > 0,
                         config.seed]  # members of an ensemble must see different views
    train_targets = [index[s.label] for s in train_samples]
    valid_targets = [index[s.label] for s in valid_samples]
    augment = whole_view_transform if config.feature_crop else train_transform
    train_ds = PhotoDataset(train_imgs, train_targets, augment(size, spec.mean, spec.std), as_tensor=True)
    valid_ds = PhotoDataset(valid_imgs, valid_targets, eval_transform(size, spec.mean, spec.std), as_tensor=False)
    state = learner.fit(train_ds, valid_ds, valid_targets, checkpoint=checkpoint)

    history = [asdict(r) for r in state.history]
    _write_metrics(out / "metrics.csv", history)
    plot_curves(history, out / "curves.png")
    logits = learner.predict_logits(valid_ds)
    report = classification_report(valid_targets, logits.argmax(1), labels)
    (out / "report.json").write_text(json.dumps({"split": "valid", **report.to_dict()}, indent=2) + "\n")
    plot_confusion_matrix(report.confusion_matrix, labels, out / "confusion_matrix.png",
                          title="Validation confusion matrix")
    print(format_report(report), file=sys.stderr)

    seconds = time.time() - start
    metadata = build_metadata(
        labels, size, config.arch, spec.mean, spec.std,
        training={"data": os.path.basename(os.path.normpath(str(config.data))), "split": config.split,
                  "n_train": len(train_samples), "n_valid": len(valid_samples),
                  "best_epoch": state.best_epoch, "seconds": round(seconds),
                  "config": asdict(config)},
        metrics={"valid": {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "n": report.n}},
    )
    learner.net.model.cpu().eval()
    model_path = export_onnx(learner.net.model, out / "model.onnx", metadata)
    print(f"best epoch {state.best_epoch}: valid accuracy {report.accuracy:.3f}, macro-F1 "
          f"{report.macro_f1:.3f}; model -> {model_path} ({seconds / 60:.1f} min)", file=sys.stderr)
    return TrainResult(out, model_path, report, state.best_epoch, seconds)


def _write_metrics(path: Path, history: list[dict]) -> None:
    if not history:
        return
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
