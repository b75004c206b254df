"""``evaluate(model, data, part)``: how good is a model on labelled photos? (torch-free)

One code path for a recipe's parts and for a folder (a folder is its one-source recipe, whose
``test`` part is its split.csv test part). Like fastai's ClassificationInterpretation: metrics,
a confusion matrix, the reliability of the confidence, and the top losses (the photos the model
gets most confidently wrong, often label mistakes worth a look).
"""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import Recipe
from ..data.assemble import SourcedSample, assemble, recipe_part
from ..errors import DataError
from ..imageio import ImageLoadError
from ..inference import Classifier
from .metrics import ClassificationReport, classification_report, coarse_report, per_group_reports, probability_report

# The parts a recipe is judged on, in the order reports show them.
EVALUATION_PARTS = ("external", "holdout", "valid", "test")


@dataclass
class EvalResult:
    report: ClassificationReport
    part: str
    model: str
    probabilities: np.ndarray            # [n, C] in the model's label order
    samples: list[SourcedSample]
    unreadable: list[str] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)
    seconds: float = 0.0
    per_source: dict = field(default_factory=dict)
    probability: dict = field(default_factory=dict)  # top-3, level, calibration (probability_report)
    verdicts: dict = field(default_factory=dict)     # share of cloud / clear_sky / not_sky answers
    coarse: dict | None = None                        # photos labelled only to a group of genera

    @property
    def split(self) -> str:  # the old name of ``part``
        return self.part

    def to_dict(self) -> dict:
        out = {**self.report.to_dict(), "part": self.part, "model": self.model, "unreadable": self.unreadable,
               "unknown_labels": self.unknown_labels, "seconds": round(self.seconds, 1),
               "per_source": self.per_source, "probability": self.probability, "verdicts": self.verdicts}
        if self.coarse is not None:
            out["coarse"] = self.coarse
        return out

    def top_losses(self, k: int = 16) -> list[dict]:
        """The ``k`` wrong predictions with the highest loss (lowest probability of the given label)."""
        labels = self.report.labels
        given = np.array([labels.index(s.label) for s in self.samples], dtype=int)
        if not len(given):
            return []
        predicted = self.probabilities.argmax(1)
        loss = -np.log(np.clip(self.probabilities[np.arange(len(given)), given], 1e-9, 1))
        wrong = np.nonzero(predicted != given)[0]
        order = wrong[np.argsort(-loss[wrong])][:k]
        return [{"path": str(self.samples[i].path), "given": labels[given[i]],
                 "predicted": labels[predicted[i]], "probability": float(self.probabilities[i].max()),
                 "loss": float(loss[i])} for i in order]


def evaluate_samples(clf: Classifier, samples: list, part: str = "given", batch_size: int = 16,
                     progress: bool = True) -> EvalResult:
    """Score ``clf`` on labelled ``samples``; unreadable photos are reported, not fatal. Photos
    labelled only to a group of genera (``allowed``) count in the coarse figures alone."""
    start = time.time()
    genus = [s for s in samples if not getattr(s, "allowed", ())]
    unknown = sorted({s.label for s in genus} - set(clf.labels))
    samples = [s for s in samples if getattr(s, "allowed", ()) or s.label in clf.labels]
    if not samples:
        raise DataError(f"no photos of the model's labels in {part!r}.")
    probs, kept, unreadable, verdicts = [], [], [], Counter()
    bar = tqdm(total=len(samples), desc=f"evaluating {part}", unit="img", file=sys.stderr,
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
            verdicts[res.verdict] += 1
        bar.update(len(chunk))
    bar.close()
    probabilities = np.asarray(probs, dtype=np.float32).reshape(-1, len(clf.labels))
    is_coarse = np.array([bool(getattr(s, "allowed", ())) for s in kept], dtype=bool)
    fine = [s for s, c in zip(kept, is_coarse) if not c]
    p_fine = probabilities[~is_coarse]
    y_true = [clf.labels.index(s.label) for s in fine]
    report = classification_report(y_true, p_fine.argmax(1) if len(fine) else [], clf.labels)
    result = EvalResult(report, part, str(clf.path), p_fine, fine, unreadable, unknown, time.time() - start)
    result.per_source = per_group_reports([getattr(s, "source", "") or part for s in fine], y_true,
                                          p_fine.argmax(1), clf.labels) if fine else {}
    result.probability = probability_report(p_fine, y_true, clf.labels)
    result.verdicts = {v: round(n / max(len(kept), 1), 4) for v, n in sorted(verdicts.items())}
    if is_coarse.any():
        result.coarse = coarse_report(probabilities[is_coarse], [s.allowed for s, c in zip(kept, is_coarse) if c],
                                      clf.labels)
    return result


def _recipe_of(data: Recipe | str | os.PathLike, part: str) -> tuple[Recipe, str]:
    """A recipe and its part: a folder becomes its one-source recipe (part ``all``: every photo)."""
    if isinstance(data, Recipe) or not Path(data).is_dir():
        return Recipe.of(data), part
    if part not in ("test", "train", "all"):
        raise DataError(f"Unknown part {part!r} of a folder: use test, train or all.")
    recipe = Recipe.from_folder(data, split="all" if part == "all" else "train")
    recipe.data.valid_frac, recipe.data.conflicts = 0.0, "keep"  # judge every photo as it is filed
    return recipe, "train" if part == "all" else part


def evaluate(model: str | Path | Classifier | None, data: Recipe | str | os.PathLike, part: str = "test",
             out: str | Path | None = None, batch_size: int = 16, progress: bool = True) -> EvalResult:
    """Score ``model`` (default: the bundled one) on one part of ``data``: a recipe (or its file)
    and one of its parts (``valid``, ``holdout``, ``external``, ``test``, a validation source's
    name), or a folder (``test``, ``train`` or ``all``)."""
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    recipe, part = _recipe_of(data, part)
    samples = recipe_part(recipe, part)
    try:
        result = evaluate_samples(clf, samples, part, batch_size, progress)
    except DataError as err:
        raise DataError(f"{data}: {err}") from None
    if out is not None:
        write_outputs(result, Path(out))
    return result


def evaluate_parts(model: str | Path | Classifier | None, recipe: Recipe | str | os.PathLike,
                   parts: tuple[str, ...] = EVALUATION_PARTS, progress: bool = True) -> dict[str, EvalResult]:
    """Every evaluation part of a recipe that has photos, validation-only sources first."""
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    recipe = Recipe.of(recipe)
    data = assemble(recipe)
    return {name: evaluate_samples(clf, data.part(name), name, progress=progress)
            for name in parts if data.part(name)}


def write_outputs(result: EvalResult, out: Path) -> None:
    from .plots import plot_confusion_matrix, plot_reliability, top_losses_sheet

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    plot_confusion_matrix(result.report.confusion_matrix, result.report.labels, out / "confusion_matrix.png",
                          title=f"Confusion matrix ({result.part})")
    plot_reliability(result.probability.get("reliability", []), out / "reliability.png",
                     title=f"Reliability ({result.part})")
    top_losses_sheet(result.top_losses(16), out / "top_losses.png")
    labels = result.report.labels
    with open(out / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "predicted", "probability", *labels])
        for s, row in zip(result.samples, result.probabilities):
            writer.writerow([getattr(s, "id", s.key), s.label, labels[int(row.argmax())], f"{row.max():.4f}",
                             *(f"{p:.4f}" for p in row)])
