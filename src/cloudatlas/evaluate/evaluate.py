"""``evaluate(model, data, split)``: how good is a model on labelled photos? (torch-free)

Like fastai's ClassificationInterpretation: metrics, a confusion matrix plot and the top losses
(the photos the model gets most confidently wrong, often label mistakes worth a look).
"""
from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data import DataError, Sample, load_split
from ..imageio import ImageLoadError
from ..inference import Classifier
from .metrics import ClassificationReport, classification_report, per_group_reports
from .plots import plot_confusion_matrix, top_losses_sheet


@dataclass
class EvalResult:
    report: ClassificationReport
    split: str
    model: str
    probabilities: np.ndarray            # [n, C] in the model's label order
    samples: list[Sample]
    unreadable: list[str] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)
    seconds: float = 0.0
    per_source: dict | None = None  # recipe parts: figures per source

    def to_dict(self) -> dict:
        out = {**self.report.to_dict(), "split": self.split, "model": self.model,
               "unreadable": self.unreadable, "unknown_labels": self.unknown_labels,
               "seconds": round(self.seconds, 1)}
        if self.per_source is not None:
            out["per_source"] = self.per_source
        return out

    def top_losses(self, k: int = 16) -> list[dict]:
        """The ``k`` wrong predictions with the highest loss (lowest probability of the given label)."""
        labels = self.report.labels
        given = np.array([labels.index(s.label) for s in self.samples])
        predicted = self.probabilities.argmax(1)
        loss = -np.log(np.clip(self.probabilities[np.arange(len(given)), given], 1e-9, 1))
        wrong = np.nonzero(predicted != given)[0]
        order = wrong[np.argsort(-loss[wrong])][:k]
        return [{"path": str(self.samples[i].path), "given": labels[given[i]],
                 "predicted": labels[predicted[i]], "probability": float(self.probabilities[i].max()),
                 "loss": float(loss[i])} for i in order]


def select_samples(data_dir: str | Path, split: str) -> list[Sample]:
    """Photos of one part: 'test', 'train' (validation part included) or 'all'."""
    if split not in ("test", "train", "all"):
        raise DataError(f"Unknown split {split!r}: use test, train or all.")
    data = load_split(data_dir, split=split, valid_frac=0, drop_conflicts=False)
    return data.test if split == "test" else data.train


def evaluate_samples(clf: Classifier, samples: list[Sample], split: str = "given",
                     batch_size: int = 16, progress: bool = True) -> EvalResult:
    """Score ``clf`` on labelled ``samples``; unreadable photos are reported, not fatal."""
    start = time.time()
    unknown = sorted({s.label for s in samples} - set(clf.labels))
    samples = [s for s in samples if s.label in clf.labels]
    if not samples:
        raise DataError(f"no photos of the model's labels in split {split!r}.")
    probs, kept, unreadable = [], [], []
    bar = tqdm(total=len(samples), desc=f"evaluating {split}", unit="img", file=sys.stderr,
               disable=not progress, leave=False)
    for i in range(0, len(samples), batch_size):
        chunk = samples[i:i + batch_size]
        for s, res in zip(chunk, clf.predict_batch([s.path for s in chunk], batch_size=batch_size)):
            if isinstance(res, ImageLoadError):
                unreadable.append(str(res))
                continue
            order = {p.label: p.probability for p in res.predictions}
            probs.append([order[label] for label in clf.labels])
            kept.append(s)
        bar.update(len(chunk))
    bar.close()
    probabilities = np.asarray(probs, dtype=np.float32)
    y_true = [clf.labels.index(s.label) for s in kept]
    report = classification_report(y_true, probabilities.argmax(1), clf.labels)
    return EvalResult(report, split, str(clf.path), probabilities, kept, unreadable, unknown,
                      time.time() - start)


def evaluate(model: str | Path | Classifier | None, data_dir: str | Path, split: str = "test",
             out: str | Path | None = None, batch_size: int = 16, progress: bool = True) -> EvalResult:
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    try:
        result = evaluate_samples(clf, select_samples(data_dir, split), split, batch_size, progress)
    except DataError as err:
        raise DataError(f"{data_dir}: {err}") from None
    if out is not None:
        write_outputs(result, Path(out))
    return result


def evaluate_recipe_part(model: str | Path | Classifier | None, recipe, part: str = "holdout",
                         out: str | Path | None = None, progress: bool = True) -> EvalResult:
    """Score a model on one part ('valid', 'holdout', 'train') of a training recipe's data,
    labels as the recipe's decisions left them. ``recipe``: a ``cloudatlas.recipe.Recipe`` or path."""
    from ..data.recipe import assemble
    from ..recipe import Recipe

    recipe = Recipe.of(recipe)
    parts = assemble(recipe.data).parts()
    if part not in parts or part == "transfer":
        raise DataError(f"Unknown recipe part {part!r}: use valid, holdout or train.")
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    result = evaluate_samples(clf, parts[part], part, progress=progress)
    result.per_source = per_group_reports([s.source for s in result.samples],
                                          [clf.labels.index(s.label) for s in result.samples],
                                          result.probabilities.argmax(1), clf.labels)
    if out is not None:
        write_outputs(result, Path(out))
    return result


def write_outputs(result: EvalResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    plot_confusion_matrix(result.report.confusion_matrix, result.report.labels, out / "confusion_matrix.png",
                          title=f"Confusion matrix ({result.split})")
    top_losses_sheet(result.top_losses(16), out / "top_losses.png")
    labels = result.report.labels
    with open(out / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "predicted", "probability", *labels])
        for s, row in zip(result.samples, result.probabilities):
            writer.writerow([s.key, s.label, labels[int(row.argmax())], f"{row.max():.4f}",
                             *(f"{p:.4f}" for p in row)])
