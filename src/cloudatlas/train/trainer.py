"""``train(recipe)``: the one trainer, for a folder of photos and for a recipe of several sources.

    recipe -> assemble the parts -> (teacher: frozen-probe features -> linear heads -> soft targets)
           -> student fine_tune (epochs chosen on validation) -> (refit on train + validation)
           -> model.onnx -> (gates from [gate]) -> a self-describing run folder

A folder is the one-source recipe ``Recipe.from_folder(DIR)``: no teacher, labels as they are.
With a ``[teacher]``, every trusted photo learns a mix of its (cleaned) label and the teacher's
out-of-fold probabilities, and every photo of an untrusted source the teacher's probabilities
alone (within its group of genera for a coarse source): noisy image-search results teach what
the teacher sees without their labels ever being believed.

The run folder holds config.json (the whole recipe as run), data.json (every part's photos and
what was left out), metrics.csv, curves.png, confusion_matrix.png, report.json and model.onnx;
last.pt (refit.pt after a refit) lets an interrupted run continue with ``resume=True``.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..cache import user_cache_dir
from ..config import Recipe, dumps, qualify
from ..data.assemble import AssembledData, SourcedSample, assemble
from ..errors import ConfigError, DataError, RunExists
from ..evaluate.metrics import ClassificationReport, classification_report, format_report, per_group_reports
from ..evaluate.plots import plot_confusion_matrix, plot_curves
from ..metadata import build_metadata
from ..model import get_backbone
from ..teacher import Teacher, probe_features
from . import distributed
from .augment import eval_transform, train_transform, whole_view_transform
from .datasets import FeatureDataset, PhotoDataset, decode_all
from .learner import Learner
from .views import ViewStore

RUN_FILES = ("last.pt", "refit.pt", "model.onnx")
TEACHER_CACHE_VERSION = 2  # bump when what the cached teacher entry holds changes


@dataclass
class TrainResult:
    out: Path
    model_path: Path
    report: ClassificationReport  # the student on the validation part, before any refit
    best_epoch: int
    seconds: float
    summary: dict                 # what report.json says


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(recipe: Recipe | str | os.PathLike | None = None, *, data: str | os.PathLike | None = None,
          out: str | os.PathLike = "runs/train", resume: bool = False, **overrides) -> TrainResult:
    """Train the model ``recipe`` (a :class:`Recipe` or its TOML file) or the one-source recipe of
    the folder ``data``, into the run folder ``out``. ``overrides`` change settings by name
    (``epochs=3``, ``img_size=160``, ``valid_frac=0.2``, or dotted: ``gate.seed=1``).
    ``resume=True`` continues the run in ``out`` (with the recipe it recorded, if none is given)."""
    if recipe is not None and data is not None:
        raise ConfigError("train on a recipe or on a folder (data=...), not both")
    if recipe is None and data is None:
        if not resume:
            raise ConfigError("say what to train on: a recipe, or a folder with data=DIR")
        chosen = Recipe.from_run(out)
    else:
        chosen = Recipe.from_folder(data) if data is not None else Recipe.of(recipe)
    chosen.override(**{qualify(k): v for k, v in overrides.items()})
    return Trainer(chosen, out, resume=resume).run()


@dataclass
class Targets:
    """What the student learns: per training photo a class index, or a weighted distribution."""

    train: np.ndarray            # [N] class indices, or [N, C] soft targets
    teacher_report: dict


class Trainer:
    """One run of one recipe. ``run()`` does every stage; each stage is a method of its own."""

    def __init__(self, recipe: Recipe, out: str | os.PathLike, resume: bool = False):
        self.recipe, self.out, self.resume = recipe, Path(out), resume
        self.cfg = recipe.student
        self.spec = get_backbone(self.cfg.arch)
        self.size = self.cfg.img_size or self.spec.default_img_size
        self.features: dict[str, np.ndarray] = {}  # the teacher's probe features, by probe
        self.index: dict[str, int] = {}             # photo id -> row of those features
        self.images: dict[str, object] = {}         # photo id -> decoded image
        self.views: dict | None = None

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        self.world = distributed.start(self.cfg.device)
        try:
            return self._run()
        finally:
            distributed.stop()

    def _say(self, message: str) -> None:
        if self.world.main:  # one voice for N processes
            print(message, file=sys.stderr, flush=True)

    def _run(self) -> TrainResult:
        start = time.time()
        main_first = distributed.main_first
        with main_first():
            if self.world.main:
                self._prepare_folder()
        seed_everything(self.cfg.seed)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.world.size))
        with main_first():  # process 0 fills the hash caches, the others read them
            data = self.data = assemble(self.recipe)
        labels = data.labels
        if len(labels) < 2:
            raise DataError("training needs photos of at least two labels.")
        if data.transfer and not self.recipe.teacher.probes:
            raise ConfigError("sources with trust = 'teacher' or 'coarse' learn the teacher's targets: "
                              "the recipe needs a [teacher] with probes")
        self._say(f"data: {json.dumps(data.summary())}; {len(labels)} labels, {self.size}px, {self.cfg.arch}"
                  + (f"; {self.world.size} processes" if self.world.active else ""))
        for reason, n in _left_out_counts(data.left_out).items():
            self._say(f"left out ({reason}): {n}")

        everything = data.train + data.valid + data.holdout + data.transfer
        if self.recipe.teacher.probes:
            judged = everything + data.external
            self.index = {s.id: i for i, s in enumerate(judged)}
            with main_first():
                self.features = probe_features(self.recipe.teacher, judged, self.out.parent / "probes",
                                               progress=self.world.main)
        images = self.images = self._decode(everything + data.external)
        with main_first():
            targets = self._targets(data.train, {"valid": data.valid, "holdout": data.holdout, **self._external()})
        if targets.teacher_report:
            self._say(f"teacher: {json.dumps(targets.teacher_report)}")

        # 1. Choose the epoch on validation: teacher and student learn from train only.
        learner = self._learner()
        with main_first():  # the frozen blocks' views, computed once, by process 0
            self.views = self._views(learner, images)
        select = data.part(self.cfg.select_on) if self.cfg.select_on != "valid" else data.valid
        select_ds = self._eval_dataset(select, learner)
        train_ds = self._train_dataset(data.train + data.transfer, targets.train, images)
        watch = {name: (self._eval_dataset(part, learner), self._indices(part)) for name, part in
                 self._watched().items() if name != self.cfg.select_on}
        state = learner.fit(train_ds, select_ds, self._indices(select), checkpoint=self.out / "last.pt", watch=watch)
        history = [dataclasses.asdict(r) for r in state.history]
        chosen = {"best_epoch": state.best_epoch, "select_on": self.cfg.select_on, "history": history}
        student = {name: self._per_source(learner, part) for name, part in
                   (("valid", data.valid), ("holdout", data.holdout), ("external", data.external)) if part}
        report: dict = {"teacher": targets.teacher_report, "student": student}
        self._say(f"student (chosen on {self.cfg.select_on}): {json.dumps(student)}")
        valid_report = self._report(learner, data.valid or select)
        if self.world.main:
            plot_confusion_matrix(valid_report.confusion_matrix, labels, self.out / "confusion_matrix.png",
                                  title="Validation confusion matrix")
            _write_metrics(self.out / "metrics.csv", history)
            plot_curves(history, self.out / "curves.png")
            print(format_report(valid_report), file=sys.stderr)

        # 2. Refit on train + valid with the chosen number of epochs (holdout and external stay out).
        if self.recipe.distill.refit and state.best_epoch > self.cfg.freeze_epochs:
            learn_from = data.train + data.valid
            with main_first():
                targets = self._targets(learn_from, {"holdout": data.holdout, **self._external()})
            report["teacher_refit"] = targets.teacher_report
            seed_everything(self.cfg.seed + 1)
            refit_cfg = dataclasses.replace(self.cfg, epochs=state.best_epoch - self.cfg.freeze_epochs)
            learner = self._learner(refit_cfg)
            train_ds = self._train_dataset(learn_from + data.transfer, targets.train, images)
            learner.fit(train_ds, self._eval_dataset([], learner), [], checkpoint=self.out / "refit.pt")
            report["student"]["refit"] = {name: self._per_source(learner, part) for name, part in
                                          (("holdout", data.holdout), ("external", data.external)) if part}
            self._say(f"refit on train + valid: {json.dumps(report['student']['refit'])}")

        if not self.world.main:  # process 0 alone writes the model and the reports
            return TrainResult(self.out, self.out / "model.onnx", valid_report, state.best_epoch, time.time() - start,
                               report)
        model_path = self._export(learner, state.best_epoch, valid_report, targets, time.time() - start)
        if self.recipe.gate is not None:
            report["gate"] = self._gates(model_path)
        if self.recipe.calibration is not None:
            report["calibration"] = self._calibrate(model_path, targets)
        seconds = time.time() - start
        report.update(chosen=chosen, seconds=round(seconds), data=data.summary(), counts=data.counts)
        (self.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"model -> {model_path} ({seconds / 60:.1f} min)", file=sys.stderr)
        return TrainResult(self.out, model_path, valid_report, state.best_epoch, seconds, report)

    # -- stages -----------------------------------------------------------------------------------
    def _prepare_folder(self) -> None:
        out = self.out
        if out.exists() and not self.resume and any((out / name).exists() for name in RUN_FILES):
            raise RunExists(f"{out} already holds a run: pass --resume to continue it, "
                                  f"or choose another --out.")
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(dumps({**self.recipe.to_dict(), "world_size": self.world.size}))

    def _decode(self, samples: list[SourcedSample]) -> dict[str, object]:
        """Every photo decoded once (shrunk, with room for crops); unreadable ones leave the parts."""
        keep_side = self.size if self.cfg.feature_crop else round(self.size * 1.25)
        images, kept, problems = decode_all(samples, keep_side, "decoding photos")
        for problem in problems:
            print(f"skipped: {problem}", file=sys.stderr)
        if problems:
            ok = {s.id for s in kept}
            for name, part in self.data.parts().items():
                setattr(self.data, name, [s for s in part if s.id in ok or name == "test"])
        return {s.id: img for s, img in zip(kept, images)}

    def _learner(self, cfg=None) -> Learner:
        cfg = cfg or self.cfg
        weights = None if cfg.weights in (None, "none") else cfg.weights
        model = self.spec.create(len(self.data.labels), weights=weights, drop_rate=cfg.drop_rate)
        return Learner(model, self.spec.structure, cfg, len(self.data.labels))

    @property
    def cached(self) -> bool:
        return bool(self.cfg.cache_views and self.cfg.freeze_to)

    def _viewed(self) -> list[SourcedSample]:
        """The photos the student may learn from, whose augmented views are cached: the training
        and transfer photos, and the validation photos when the recipe refits on them."""
        d = self.data
        return d.train + (d.valid if self.recipe.distill.refit else []) + d.transfer

    def _views(self, learner: Learner, images: dict) -> dict | None:
        """With ``cache_views``: the frozen blocks' output for every photo, once per augmented
        view (``train``), and once as seen at inference (``plain``, the photos that are judged)."""
        if not self.cached:
            return None
        cfg, mean, std = self.cfg, self.spec.mean, self.spec.std
        crop = "whole" if cfg.feature_crop else "crops"
        key = lambda kind: [cfg.arch, str(cfg.weights), self.size, cfg.freeze_to, kind, cfg.seed if kind != "plain" else 0]
        augment = (whole_view_transform if cfg.feature_crop else train_transform)(self.size, mean, std)
        photos = lambda samples: [(s.id, s.path, images[s.id]) for s in samples]
        viewed = self._viewed()
        views = ViewStore(key(crop)).views(learner, photos(viewed), lambda imgs: PhotoDataset(
            imgs, [0] * len(imgs), augment, as_tensor=True), cfg.cache_views, cfg.seed, "train views")
        judged = self.data.valid + self.data.holdout + self.data.external
        plain = ViewStore(key("plain")).views(learner, photos(judged), lambda imgs: PhotoDataset(
            imgs, [0] * len(imgs), eval_transform(self.size, mean, std), as_tensor=False), 1, 0, "plain view")
        seed_everything(cfg.seed)  # training draws the same whether the views were computed or read
        return {"train": views, "train_pos": {s.id: i for i, s in enumerate(viewed)},
                "plain": plain, "plain_pos": {s.id: i for i, s in enumerate(judged)}}

    def _train_dataset(self, samples: list[SourcedSample], targets: np.ndarray, images: dict):
        if self.views is not None:
            pos = self.views["train_pos"]
            return FeatureDataset(self.views["train"][:, [pos[s.id] for s in samples]], targets)
        augment = (whole_view_transform if self.cfg.feature_crop else train_transform)
        return PhotoDataset([images[s.id] for s in samples], list(targets),
                            augment(self.size, self.spec.mean, self.spec.std), as_tensor=True)

    def _eval_dataset(self, samples: list[SourcedSample], learner: Learner):
        targets = self._indices(samples)
        if self.views is not None:
            pos = self.views["plain_pos"]
            return FeatureDataset(self.views["plain"][:, [pos[s.id] for s in samples]], targets)
        images = self.images
        return PhotoDataset([images[s.id] for s in samples], targets,
                            eval_transform(self.size, self.spec.mean, self.spec.std), as_tensor=False)

    def _external(self) -> dict[str, list[SourcedSample]]:
        """Each validation-only source's photos, by its name."""
        return {source: [s for s in self.data.external if s.source == source]
                for source in dict.fromkeys(s.source for s in self.data.external)}

    def _watched(self) -> dict[str, list[SourcedSample]]:
        """The parts whose accuracy every epoch reports: validation, and each validation-only source."""
        return {**({"valid": self.data.valid} if self.data.valid else {}), **self._external()}

    def _indices(self, samples: list[SourcedSample]) -> list[int]:
        return [self.data.labels.index(s.label) for s in samples]

    def _predict(self, learner: Learner, samples: list[SourcedSample]) -> np.ndarray:
        return learner.predict_logits(self._eval_dataset(samples, learner), cached=self.views is not None).argmax(1)

    def _judge(self, samples: list[SourcedSample], predicted: np.ndarray) -> dict:
        """Per source: accuracy and macro-F1, or for photos labelled to a group of genera, how often
        the top genus is one of the group (``top_in_group``)."""
        fine = [i for i, s in enumerate(samples) if not s.allowed]
        out = per_group_reports([samples[i].source for i in fine], self._indices([samples[i] for i in fine]),
                                predicted[fine], self.data.labels) if fine else {}
        labels = self.data.labels
        for source in dict.fromkeys(s.source for s in samples if s.allowed):
            mine = [i for i, s in enumerate(samples) if s.allowed and s.source == source]
            out[source] = {"top_in_group": round(float(np.mean([labels[predicted[i]] in samples[i].allowed
                                                                 for i in mine])), 4), "n": len(mine)}
        return out

    def _report(self, learner: Learner, samples: list[SourcedSample]) -> ClassificationReport:
        return classification_report(self._indices(samples), self._predict(learner, samples), self.data.labels)

    def _per_source(self, learner: Learner, samples: list[SourcedSample]) -> dict:
        return self._judge(samples, self._predict(learner, samples))

    # -- targets ----------------------------------------------------------------------------------
    def _targets(self, learn_from: list[SourcedSample], judge: dict[str, list[SourcedSample]]) -> Targets:
        """Class indices when every label is hard and every weight 1 (label smoothing applies);
        otherwise distributions scaled by each photo's weight: label/teacher mix, then the
        transfer photos' teacher targets."""
        labels, distill = self.data.labels, self.recipe.distill
        labelled = _label_targets(learn_from, labels)
        weights = np.array([s.weight for s in learn_from], dtype=np.float32)
        if not self.recipe.teacher.probes:
            if all(not s.soft for s in learn_from) and np.all(weights == 1):
                return Targets(labelled.argmax(1), {})
            return Targets((labelled * weights[:, None]).astype(np.float32), {})
        oof, probs, report = self._teach(learn_from, judge)
        mixed = ((1 - distill.alpha) * labelled + distill.alpha * oof) * weights[:, None]
        transfer = self.data.transfer
        if transfer:
            mask = np.stack([s.allowed_mask(labels) for s in transfer])
            probs = probs * mask  # a coarse label: only the genera of its group
            probs /= np.maximum(probs.sum(1, keepdims=True), 1e-12)
            scale = np.array([s.weight for s in transfer], dtype=np.float32)[:, None] * distill.transfer_weight
            mixed = np.concatenate([mixed, probs * scale])
        return Targets(mixed.astype(np.float32), report)

    def _take(self, samples: list[SourcedSample]) -> dict[str, np.ndarray]:
        idx = [self.index[s.id] for s in samples]
        return {k: v[idx] for k, v in self.features.items()}

    def _teach(self, learn_from: list[SourcedSample], judge: dict[str, list[SourcedSample]]
               ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Fit the teacher on ``learn_from``: its out-of-fold probabilities for them, its
        probabilities for the transfer photos, and its accuracy on each part of ``judge``.

        Kept on disk under a key of everything they depend on (the features themselves included),
        so another student from the same teacher (other epochs, another mix) fits no teacher again."""
        labels, transfer = self.data.labels, self.data.transfer
        y = _label_targets(learn_from, labels)
        w = np.array([s.weight for s in learn_from], dtype=np.float32)
        judged = [s for samples in judge.values() for s in samples]
        digest = hashlib.sha256(json.dumps([TEACHER_CACHE_VERSION, dataclasses.asdict(self.recipe.teacher), labels,
                                            self.recipe.data.split_seed,
                                            [s.group for s in learn_from], {k: [s.id for s in v] for k, v in judge.items()},
                                            [s.id for s in transfer]]).encode())
        for array in (y, w, *self._take(learn_from + transfer + judged).values()):
            digest.update(np.ascontiguousarray(array).tobytes())
        path = user_cache_dir("teacher") / f"{digest.hexdigest()[:24]}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                print(f"using the cached teacher targets: {path}", file=sys.stderr)
                return z["oof"], z["transfer"], json.loads(str(z["report"]))
        teacher = Teacher(self.recipe.teacher, labels)
        oof = teacher.out_of_fold(self._take(learn_from), y, w, [s.group for s in learn_from],
                                  seed=self.recipe.data.split_seed)
        teacher.fit(self._take(learn_from), y, w)
        probs = teacher.predict_proba(self._take(transfer)) if transfer else np.zeros((0, len(labels)), np.float32)
        report = {name: self._judge(samples, teacher.predict_proba(self._take(samples)).argmax(1))
                  for name, samples in judge.items() if samples}
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, oof=oof, transfer=probs, report=json.dumps(report))
        return oof, probs, report

    # -- the model file ---------------------------------------------------------------------------
    def _export(self, learner: Learner, best_epoch: int, valid: ClassificationReport, targets: Targets,
                seconds: float) -> Path:
        from ..export import export_onnx

        recipe, data = self.recipe, self.data
        (self.out / "data.json").write_text(json.dumps({
            "recipe": str(recipe.path) if recipe.path else None, "labels": data.labels, "counts": data.counts,
            "left_out": data.left_out,
            "parts": {name: [[str(s.path), s.label] for s in part] for name, part in data.parts().items()},
            "ids": {name: [s.id for s in part] for name, part in data.parts().items()}}, indent=2) + "\n")
        recipe_file = None
        if recipe.path:
            recipe_file = (os.path.relpath(recipe.path, Path.cwd()) if recipe.path.is_relative_to(Path.cwd())
                           else str(recipe.path))
        metadata = build_metadata(
            data.labels, self.size, self.cfg.arch, self.spec.mean, self.spec.std, name=recipe.name,
            recipe={"file": recipe_file, "name": recipe.name},
            training={"sources": data.summary(), "n_train": len(data.train), "n_valid": len(data.valid),
                      "label_prior": [round(float(p), 6) for p in _label_prior(targets.train, len(data.labels))],
                      "best_epoch": best_epoch, "refit": recipe.distill.refit, "seconds": round(seconds),
                      "config": recipe.to_dict(), "teacher": [p.name for p in recipe.teacher.probes]},
            metrics={"valid": valid.brief(), **({"teacher": targets.teacher_report} if targets.teacher_report else {})},
            test_time_augmentation="horizontal flip" if recipe.distill.flip_tta else None,
        )
        learner.net.model.cpu().eval()
        return export_onnx(learner.net.model, self.out / "model.onnx", metadata, flip_tta=recipe.distill.flip_tta,
                           fp16_weights=recipe.distill.fp16_weights)

    def _calibrate(self, model_path: Path, targets: Targets) -> dict:
        """Temperature, prior shift and the words' thresholds, fitted on the calibration parts."""
        from ..export.calibrate import calibrate

        calibration = calibrate(model_path, self.recipe, data=self.data, out_path=model_path)
        b, a = calibration.before, calibration.after
        print(f"calibration on {calibration.fitted_on}: T = {calibration.temperature}, prior power "
              f"{calibration.prior_power}; top-1 {b['top1']:.3f} -> {a['top1']:.3f}, ECE {b['ece']:.3f} -> "
              f"{a['ece']:.3f} (fitted on one half, measured on the other: ECE {calibration.cross_fitted['ece']:.3f}); "
              f"thresholds {calibration.thresholds}", file=sys.stderr, flush=True)
        return calibration.to_metadata()

    def _gates(self, model_path: Path) -> dict:
        from ..gate import fit_gates

        report = fit_gates(model_path, self.recipe, data=self.data, out_path=model_path)
        print(report.summary(), file=sys.stderr)
        return report.to_dict()


def _label_prior(targets: np.ndarray, n_labels: int) -> np.ndarray:
    """The share of each label in what the student learned (weights and soft targets counted)."""
    prior = np.bincount(targets, minlength=n_labels).astype(float) if targets.ndim == 1 else targets.sum(0)
    return prior / max(prior.sum(), 1e-12)


def _left_out_counts(left_out: dict[str, list[str]]) -> dict[str, int]:
    """Photos left out, by the kind of reason ("dropped: confident learning", not each photo's figures)."""
    counts: dict[str, int] = {}
    for reason, ids in left_out.items():
        kind = reason.split(" (")[0].split(": ")[0:2]
        key = ": ".join(kind)
        counts[key] = counts.get(key, 0) + len(ids)
    return counts


def _label_targets(samples: list[SourcedSample], labels: list[str]) -> np.ndarray:
    return np.stack([s.target(labels) for s in samples]) if samples else np.zeros((0, len(labels)), np.float32)


def _write_metrics(path: Path, history: list[dict]) -> None:
    if not history:
        return
    history = [{**{k: v for k, v in h.items() if k != "watched"},
                **{f"{name}_acc": acc for name, acc in h.get("watched", {}).items()}} for h in history]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
