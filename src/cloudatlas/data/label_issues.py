"""Rank photos by how likely their label is wrong (confident learning on frozen features).

1. Embed every photo with the model's backbone (``Classifier.embed``; cached per model and file).
2. Out-of-fold class probabilities from a cross-validated logistic regression on those
   embeddings: each photo is judged by a classifier that never saw it. Cheap on a CPU, and
   unlike the fine-tuned model's own predictions, not biased by having memorised the label.
3. cleanlab's confident learning (``cleanlab.filter.find_label_issues``) flags the photos whose
   label disagrees with what the rest of the set implies, and ``cleanlab.rank`` orders every photo
   by label quality. The suggested label is the out-of-fold favourite.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..cache import dataset_cache_dir
from ..embeddings import EmbeddingCache, embed, file_item
from ..errors import DataError, MissingExtra
from ..linear import LinearModel, out_of_fold
from .dataset import Sample, scan_folder
from .hashes import photo_groups



@dataclass
class LabelIssue:
    path: str  # "label-folder/name.jpg"
    label: str
    suggested: str  # the label the out-of-fold classifier prefers
    quality: float  # cleanlab label quality in [0, 1]; low = the label is probably wrong
    label_probability: float  # out-of-fold probability of the given label
    suggested_probability: float
    is_issue: bool  # flagged by confident learning
    rank: int = 0  # 1 = most suspicious

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class LabelIssuesReport:
    root: str
    model: str
    n_images: int
    labels: list[str]
    folds: int
    cv_accuracy: float  # out-of-fold accuracy against the given labels: how separable the set is
    ranked: list[LabelIssue] = field(default_factory=list)  # every judged photo, most suspicious first
    unreadable: list[dict] = field(default_factory=list)
    skipped_labels: list[str] = field(default_factory=list)  # too few photos to cross-validate
    seconds: float = 0.0

    @property
    def issues(self) -> list[LabelIssue]:
        return [r for r in self.ranked if r.is_issue]

    def to_dict(self, top: int | None = None) -> dict:
        return {
            "root": self.root, "model": self.model, "n_images": self.n_images, "labels": self.labels,
            "folds": self.folds, "cv_accuracy": round(self.cv_accuracy, 4),
            "n_issues": len(self.issues),
            "issues": [r.to_dict() for r in self.issues[:top]],
            "ranked": [r.to_dict() for r in self.ranked[:top]],
            "unreadable": self.unreadable, "skipped_labels": self.skipped_labels,
            "seconds": round(self.seconds, 2),
        }

    def summary(self, top: int = 20) -> str:
        lines = [f"{self.root}: {self.n_images} photos judged by {self.folds}-fold logistic regression on "
                 f"{self.model} features (out-of-fold accuracy {self.cv_accuracy:.1%}, {self.seconds:.0f} s).",
                 f"{len(self.issues)} photos are likely mislabelled (cleanlab confident learning)."]
        if self.skipped_labels:
            lines.append(f"Not judged (fewer than 2 photos): {', '.join(self.skipped_labels)}")
        if self.unreadable:
            lines.append(f"Unreadable, skipped: {len(self.unreadable)} (see cloudatlas data audit)")
        shown = self.ranked[:top]
        if shown:
            lines.append(f"{'rank':>4}  {'quality':>7}  {'label':<6} {'suggested':<14} photo")
        for r in shown:
            mark = "*" if r.is_issue else " "
            lines.append(f"{r.rank:>4}{mark} {r.quality:7.3f}  {r.label:<6} "
                         f"{r.suggested + f' {r.suggested_probability:.0%}':<14} {r.path}")
        if shown:
            lines.append("(* flagged as a label issue; fix them with: cloudatlas clean DATA)")
        return "\n".join(lines)


# -- embeddings --------------------------------------------------------------------------------
def embed_photos(root: str | Path, samples: list[Sample], classifier, batch_size: int = 16,
                 progress: bool | None = None, cache: bool = True) -> tuple[np.ndarray, list[str | None]]:
    """Backbone embeddings of ``samples`` ``[N, D]`` and, per photo, an error message or None.

    The one embedding pipeline (``cloudatlas.embeddings``), cached in the data set's cache folder
    under the model's content hash; unreadable photos get a zero row.
    """
    from tqdm import tqdm

    store = EmbeddingCache(dataset_cache_dir(root), classifier.path) if cache else None
    with tqdm(total=len(samples), desc="embedding", unit="photo", leave=False,
              disable=None if progress is None else not progress) as bar:
        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        return embed(classifier, [file_item(s.key, s.path) for s in samples], store, batch_size, advance)


# -- out-of-fold probabilities and confident learning ------------------------------------------
def out_of_fold_probabilities(features: np.ndarray, labels: np.ndarray, groups: list[str], folds: int = 5,
                              seed: int = 0, C: float = 0.02) -> np.ndarray:
    """``[N, K]`` class probabilities, each row from a model trained without that photo's
    near-duplicate group (a copy in another fold must not vouch for a wrong label). Standardised
    features and an L2 penalty keep the probabilities calibrated enough for cleanlab."""
    n_classes = int(labels.max()) + 1
    return out_of_fold(lambda fit, held: LinearModel.fit(features[fit], labels[fit], C=C, n_classes=n_classes,
                                                         max_iter=2000).predict_proba(features[held]),
                       labels, groups, folds, seed)


def find_label_issues(root: str | Path, model: str | Path | None = None, folds: int = 5,
                      progress: bool | None = None, cache: bool = True, threads: int | None = None,
                      classifier=None) -> LabelIssuesReport:
    """Rank the photos of ``root/<label>/`` by label quality; see the module docstring."""
    try:
        from cleanlab.filter import find_label_issues as cl_find_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        raise MissingExtra("Finding label issues", "data", "cleanlab") from None
    from ..inference import Classifier

    started = time.perf_counter()
    root = Path(root)
    samples = scan_folder(root)
    clf = classifier or Classifier.load(model, threads=threads)
    features, errors = embed_photos(root, samples, clf, progress=progress, cache=cache)
    unreadable = [{"path": s.key, "label": s.label, "reason": e} for s, e in zip(samples, errors) if e]
    usable = [i for i, e in enumerate(errors) if e is None]

    counts: dict[str, int] = {}
    for i in usable:
        counts[samples[i].label] = counts.get(samples[i].label, 0) + 1
    skipped = sorted(k for k, n in counts.items() if n < 2)
    usable = [i for i in usable if samples[i].label not in skipped]
    labels = sorted({samples[i].label for i in usable})
    if len(labels) < 2:
        raise DataError(f"{root}: label issues need at least two labels with two readable photos each.")
    folds = max(2, min(folds, min(counts[k] for k in labels)))

    index = {k: j for j, k in enumerate(labels)}
    y = np.array([index[samples[i].label] for i in usable])
    X = features[usable]
    groups = photo_groups(root, samples)
    probs = out_of_fold_probabilities(X, y, [groups[i] for i in usable], folds=folds)
    quality = get_label_quality_scores(y, probs, method="self_confidence")
    flagged = np.zeros(len(y), dtype=bool)
    # n_jobs=1: the per-class pruning is quick, and a process pool would fight training for the CPU.
    flagged[cl_find_issues(y, probs, filter_by="prune_by_noise_rate", n_jobs=1)] = True

    ranked = []
    for row, i in enumerate(usable):
        best = int(np.argmax(probs[row]))
        ranked.append(LabelIssue(samples[i].key, samples[i].label, labels[best], float(quality[row]),
                                 float(probs[row, y[row]]), float(probs[row, best]), bool(flagged[row])))
    # Flagged first, then by quality: confident learning decides *whether*, quality *how sure*.
    ranked.sort(key=lambda r: (not r.is_issue, r.quality, r.path))
    for n, r in enumerate(ranked, 1):
        r.rank = n
    return LabelIssuesReport(
        root=str(root), model=clf.name, n_images=len(usable), labels=labels, folds=folds,
        cv_accuracy=float((probs.argmax(1) == y).mean()), ranked=ranked, unreadable=unreadable,
        skipped_labels=skipped, seconds=time.perf_counter() - started)
