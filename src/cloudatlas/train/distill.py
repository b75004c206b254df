"""Train from a recipe: several sources -> a teacher ensemble -> one distilled student network.

    recipe (TOML) -> assemble sources -> frozen-probe features -> teacher (linear heads on
    three backbones) -> soft targets -> student fine_tune (choose epochs on validation) ->
    refit on train + validation -> model.onnx

The student learns, for every trusted photo, a mix of its (cleaned) label and the teacher's
out-of-fold probabilities, and for every photo of an untrusted source (``trust = "teacher"``)
the teacher's probabilities alone: noisy image-search results teach the student what the
teacher sees without their labels ever being believed.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from ..data.recipe import AssembledData, SourcedSample, assemble
from ..evaluate.metrics import classification_report, format_report, per_group_reports
from ..evaluate.plots import plot_confusion_matrix, plot_curves
from ..export import build_metadata, export_onnx
from ..model import get_backbone
from ..recipe import Recipe
from ..teacher import Teacher, TeacherConfig, embed_samples, probe_model
from .augment import eval_transform, train_transform
from .config import TrainConfig
from .datasets import FeatureDataset, PhotoDataset, decode_all
from .learner import Learner
from .run import _write_metrics, seed_everything


def train_config(recipe: Recipe, out: str | Path, **overrides) -> TrainConfig:
    """The student's TrainConfig: the recipe's [student] table plus ``overrides``."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(recipe.student) - known
    if unknown:
        raise ValueError(f"{recipe.path}: unknown [student] keys {sorted(unknown)}")
    return TrainConfig(**{"data": str(recipe.path), "out": str(out), **recipe.student, **overrides})


def _features(teacher: TeacherConfig, samples: list[SourcedSample], probe_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for spec in teacher.probes:
        print(f"teacher features: {spec.name} on {len(samples)} photos", file=sys.stderr, flush=True)
        out[spec.name], _ = embed_samples(samples, probe_model(spec, probe_dir))
    return out


def _take(features: dict[str, np.ndarray], idx) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in features.items()}


def _label_targets(samples: list[SourcedSample], labels: list[str]) -> np.ndarray:
    return np.stack([s.target(labels) for s in samples]) if samples else np.zeros((0, len(labels)), np.float32)


@dataclass
class TeacherTargets:
    """The teacher's probabilities for every photo the student learns from."""

    labelled: np.ndarray   # out-of-fold, for the trusted training photos
    transfer: np.ndarray   # for the untrusted photos
    report: dict           # the teacher's own validation figures


def teach(recipe: Recipe, data: AssembledData, features: dict[str, np.ndarray], index: dict[str, int],
          learn_from: list[SourcedSample], judge: dict[str, list[SourcedSample]]) -> TeacherTargets:
    """Fit the teacher on ``learn_from``; out-of-fold targets for them, full-fit ones for the
    transfer set, and accuracy on each part of ``judge``."""
    labels = data.labels
    pick = lambda samples: _take(features, [index[s.id] for s in samples])
    y = _label_targets(learn_from, labels)
    w = np.array([s.weight for s in learn_from], dtype=np.float32)
    teacher = Teacher(recipe.teacher, labels)
    oof = teacher.out_of_fold(pick(learn_from), y, w, [s.group for s in learn_from], seed=recipe.data.split_seed)
    teacher.fit(pick(learn_from), y, w)
    transfer = teacher.predict_proba(pick(data.transfer)) if data.transfer else np.zeros((0, len(labels)))
    report = {}
    for name, samples in judge.items():
        if samples:
            r = classification_report([labels.index(s.label) for s in samples],
                                      teacher.predict_proba(pick(samples)).argmax(1), labels)
            report[name] = {"accuracy": r.accuracy, "macro_f1": r.macro_f1, "n": r.n}
    return TeacherTargets(oof, transfer, report)


def student_targets(recipe: Recipe, data: AssembledData, learn_from: list[SourcedSample],
                    taught: TeacherTargets) -> np.ndarray:
    """Soft targets, each row scaled by its photo's weight: label/teacher mix, then transfer."""
    a = recipe.distill.alpha
    labelled = (1 - a) * _label_targets(learn_from, data.labels) + a * taught.labelled
    labelled *= np.array([s.weight for s in learn_from], dtype=np.float32)[:, None]
    transfer = taught.transfer * recipe.distill.transfer_weight
    return np.concatenate([labelled, transfer]).astype(np.float32)


def _per_source(samples: list[SourcedSample], pred: np.ndarray, labels: list[str]) -> dict:
    return per_group_reports([s.source for s in samples], [labels.index(s.label) for s in samples], pred, labels)


def train_recipe(recipe_path: str | os.PathLike, out: str | os.PathLike, **overrides) -> dict:
    """Build a model from a recipe into the run folder ``out``; returns its report."""
    start = time.time()
    recipe = Recipe.load(recipe_path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = train_config(recipe, out, **overrides)
    seed_everything(config.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    spec = get_backbone(config.arch)
    size = config.img_size or spec.default_img_size

    data = assemble(recipe.data)
    labels = data.labels
    print(f"data: {json.dumps(data.summary())}", file=sys.stderr)
    everything = data.train + data.valid + data.holdout + data.transfer
    index = {s.id: i for i, s in enumerate(everything)}
    features = _features(recipe.teacher, everything, out.parent / "probes")

    # 1. Choose the epoch on validation: teacher and student learn from train only.
    judge = {"valid": data.valid, "holdout": data.holdout}
    taught = teach(recipe, data, features, index, data.train, judge)
    print(f"teacher: {json.dumps(taught.report)}", file=sys.stderr, flush=True)

    images, kept, problems = decode_all(everything, round(size * 1.25), "decoding photos")
    if problems:
        raise ValueError(f"unreadable photos (drop them in the decisions file): {problems[:5]}")
    pos = {s.id: i for i, s in enumerate(kept)}
    learner = Learner(spec.create(len(labels), weights=config.weights, drop_rate=config.drop_rate), config,
                      len(labels))
    learner.cache_key = ["recipe", str(recipe.path), [s.id for s in everything], config.arch, size,
                         config.freeze_to, config.seed]
    augment = PhotoDataset(images, [0] * len(images), train_transform(size, spec.mean, spec.std), as_tensor=True)
    views = learner.cached(augment, config.cache_views, "train views")
    # Validation and holdout photos are also seen as at inference: the centre square, no augmentation.
    judged = data.valid + data.holdout
    plain = PhotoDataset([images[pos[s.id]] for s in judged], [0] * len(judged),
                         eval_transform(size, spec.mean, spec.std), as_tensor=False)
    plain_views = learner.cached(plain, 1, "plain view")
    plain_pos = {s.id: i for i, s in enumerate(judged)}

    def dataset(samples, targets, view_stack):
        index = plain_pos if view_stack is plain_views else pos
        return FeatureDataset(view_stack[:, [index[s.id] for s in samples]], targets)

    learn_from = data.train
    train_ds = dataset(learn_from + data.transfer, student_targets(recipe, data, learn_from, taught), views)
    valid_targets = [labels.index(s.label) for s in data.valid]
    valid_ds = dataset(data.valid, valid_targets, plain_views)
    state = learner.fit(train_ds, valid_ds, valid_targets)
    history = [asdict(r) for r in state.history]
    chosen = {"best_epoch": state.best_epoch, "history": history}
    valid_pred = learner.predict_logits(valid_ds, cached=True).argmax(1)
    holdout_ds = dataset(data.holdout, [labels.index(s.label) for s in data.holdout], plain_views)
    report = {"teacher": taught.report,
              "student": {"valid": _per_source(data.valid, valid_pred, labels),
                          "holdout": _per_source(data.holdout, learner.predict_logits(holdout_ds, cached=True).argmax(1), labels)}}
    print(f"student (chosen on valid): {json.dumps(report['student'])}", file=sys.stderr, flush=True)
    valid_report = classification_report(valid_targets, valid_pred, labels)
    plot_confusion_matrix(valid_report.confusion_matrix, labels, out / "confusion_matrix.png",
                          title="Validation confusion matrix (student)")
    _write_metrics(out / "metrics.csv", history)
    plot_curves(history, out / "curves.png")
    print(format_report(valid_report), file=sys.stderr)

    # 2. Refit on train + valid with the chosen number of epochs (the holdout stays out).
    if recipe.distill.refit and state.best_epoch > config.freeze_epochs:
        learn_from = data.train + data.valid
        taught = teach(recipe, data, features, index, learn_from, {"holdout": data.holdout})
        report["teacher_refit"] = taught.report
        refit_cfg = TrainConfig(**{**asdict(config), "epochs": state.best_epoch - config.freeze_epochs})
        seed_everything(config.seed + 1)
        learner = Learner(spec.create(len(labels), weights=config.weights, drop_rate=config.drop_rate), refit_cfg,
                          len(labels))
        train_ds = dataset(learn_from + data.transfer, student_targets(recipe, data, learn_from, taught), views)
        learner.fit(train_ds, dataset([], [], plain_views), [])
        report["student"]["holdout_refit"] = _per_source(
            data.holdout, learner.predict_logits(holdout_ds, cached=True).argmax(1), labels)
        print(f"refit on train + valid: holdout {json.dumps(report['student']['holdout_refit'])}",
              file=sys.stderr, flush=True)

    seconds = time.time() - start
    (out / "report.json").write_text(json.dumps({**report, "chosen": chosen, "seconds": round(seconds),
                                                 "data": data.summary(), "counts": data.counts}, indent=2) + "\n")
    (out / "data.json").write_text(json.dumps({
        "recipe": str(recipe.path), "labels": labels, "counts": data.counts, "left_out": data.left_out,
        **{f"{name}_files": [s.id for s in part] for name, part in data.parts().items()}}, indent=2) + "\n")
    metadata = build_metadata(
        labels, size, config.arch, spec.mean, spec.std, name=recipe.name,
        recipe={"file": os.path.relpath(recipe.path, Path.cwd()) if recipe.path.is_relative_to(Path.cwd())
                else str(recipe.path), "name": recipe.name},
        training={"sources": data.summary(), "best_epoch": state.best_epoch, "refit": recipe.distill.refit,
                  "seconds": round(seconds), "config": asdict(config), "distill": asdict(recipe.distill),
                  "teacher": [p.name for p in recipe.teacher.probes]},
        metrics={"valid": {"accuracy": valid_report.accuracy, "macro_f1": valid_report.macro_f1,
                           "n": valid_report.n}, "teacher": taught.report},
        test_time_augmentation="horizontal flip" if recipe.distill.flip_tta else None,
    )
    learner.net.model.cpu().eval()
    model_path = export_onnx(learner.net.model, out / "model.onnx", metadata, flip_tta=recipe.distill.flip_tta,
                             fp16_weights=recipe.distill.fp16_weights)
    print(f"model -> {model_path} ({seconds / 60:.1f} min)", file=sys.stderr)
    return {**report, "model": str(model_path), "seconds": seconds}
