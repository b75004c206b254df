"""Fit, calibrate, evaluate and attach the gate: ``fit_gate(model, clouds, not_cloud)``.

1. embed every image with the model's own backbone (``Classifier.embed``);
2. standardise, fit a logistic regression cloud-vs-not, C chosen by 5-fold cross-validation
   on the fit part for the fewest not-cloud images passing at the target cloud acceptance;
3. set the threshold on the validation cloud photos so that ``target_accept`` of them pass
   (0.97: a margin above the 95 % promise, which held-out photos must keep);
4. measure on held-out images only; 5. write the gate into the ONNX file.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .data import gate_data
from .embeddings import Embedded, EmbeddingCache, embed_samples
from .linear import LinearGate
from .onnx_graph import attach_gate
from .report import GateReport
from .synthetic import FIT_STYLES, HELDOUT_STYLES

DEFAULT_CS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
TARGET_ACCEPT = 0.97

Progress = Callable[[str, int, int], None]


@dataclass
class LinearFit:
    """The scikit-learn objects and the equivalent :class:`LinearGate`."""

    scaler: object
    model: object
    gate: LinearGate
    c: float


def choose_threshold(cloud_scores: np.ndarray, target_accept: float) -> float:
    """The highest threshold that still accepts ``target_accept`` of these cloud scores.

    Rounded down to 6 decimals (what ``Classifier`` reports), so float32 inference never turns
    a calibration photo at the threshold into a rejection.
    """
    scores = np.sort(np.asarray(cloud_scores, dtype=np.float64))
    if scores.size == 0:
        raise ValueError("no validation cloud photos to set the threshold on")
    k = int(math.floor((1.0 - target_accept) * scores.size + 1e-9))
    return math.floor(scores[min(k, scores.size - 1)] * 1e6) / 1e6 - 1e-6


def _fit_sklearn(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    # balanced: ~1.5 k cloud photos against ~0.8 k negatives should not tilt the boundary
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(scaler.transform(x), y)
    return scaler, model


def _select_c(x: np.ndarray, y: np.ndarray, cs: Sequence[float], target_accept: float, seed: int) -> float:
    """Cross-validated C: fewest negatives accepted at the operating point, then best AUROC.

    Out-of-fold scores are pooled before thresholding: per-fold rates on ~60 photos would
    differ by one photo and pick C by chance.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if len(cs) == 1:
        return float(cs[0])
    folds = list(StratifiedKFold(n_splits=min(5, int(np.bincount(y).min())), shuffle=True,
                                 random_state=seed).split(x, y))
    results = []
    for c in cs:
        scores = np.zeros(len(y))
        for train, test in folds:
            scaler, model = _fit_sklearn(x[train], y[train], c)
            scores[test] = model.predict_proba(scaler.transform(x[test]))[:, 1]
        thr = choose_threshold(scores[y == 1], target_accept)
        results.append((float(np.mean(scores[y == 0] >= thr)), -float(roc_auc_score(y, scores)), c))
    return float(min(results)[2])


def fit_linear_gate(fit: Embedded, valid: Embedded, target_accept: float = TARGET_ACCEPT,
                    cs: Sequence[float] = DEFAULT_CS, seed: int = 0) -> LinearFit:
    """Fit on ``fit`` (clouds = 1), set the threshold on the cloud photos of ``valid``."""
    y = fit.y
    if y.min() == y.max():
        raise ValueError("the gate needs both cloud photos and not-cloud images to fit")
    c = _select_c(fit.x, y, cs, target_accept, seed)
    scaler, model = _fit_sklearn(fit.x, y, c)
    gate = LinearGate.from_sklearn(scaler, model)
    gate.threshold = choose_threshold(gate.scores(valid.where("cloud").x), target_accept)
    return LinearFit(scaler, model, gate, c)


def _rate(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4) if mask.size else float("nan")


def evaluate_gate(gate: LinearGate, heldout: Embedded, valid: Embedded | None = None) -> dict:
    """AUROC and acceptance rates on held-out images (clouds vs photos vs synthetic)."""
    from sklearn.metrics import roc_auc_score

    scores = gate.scores(heldout.x)
    accepted = scores >= gate.threshold
    kinds = np.array([s.kind for s in heldout.samples])
    styles = np.array([s.group for s in heldout.samples])
    y = heldout.y

    def auroc(mask):
        return round(float(roc_auc_score(y[mask], scores[mask])), 4) if len(set(y[mask])) == 2 else float("nan")

    negatives = kinds != "cloud"
    unseen = np.isin(styles, HELDOUT_STYLES) & (kinds == "synthetic")
    metrics = {
        "auroc": auroc(np.ones_like(y, dtype=bool)),
        "auroc_photos": auroc(kinds != "synthetic"),
        "auroc_synthetic": auroc(kinds != "photo"),
        "cloud_accept_rate": _rate(accepted[kinds == "cloud"]),
        "not_cloud_accept_rate": _rate(accepted[negatives]),
        "not_cloud_photo_accept_rate": _rate(accepted[kinds == "photo"]),
        "synthetic_accept_rate": _rate(accepted[kinds == "synthetic"]),
        "synthetic_unseen_style_accept_rate": _rate(accepted[unseen]),
    }
    if valid is not None:
        metrics["valid_cloud_accept_rate"] = _rate(gate.accepts(valid.where("cloud").x))
    return metrics


def _per_group(heldout: Embedded, accepted: np.ndarray, kind: str) -> dict[str, float]:
    by: dict[str, list[bool]] = defaultdict(list)
    for s, ok in zip(heldout.samples, accepted):
        if s.kind == kind:
            by[s.group].append(bool(ok))
    return {g: round(float(np.mean(v)), 4) for g, v in sorted(by.items())}


def fit_gate(model_path: str | os.PathLike, clouds_dir: str | os.PathLike, not_cloud_dir: str | os.PathLike,
             out_path: str | os.PathLike | None = None, seed: int = 0, *,
             target_accept: float = TARGET_ACCEPT, cs: Sequence[float] = DEFAULT_CS,
             n_synthetic: int = 520, n_synthetic_heldout: int = 285, max_per_set: int | None = None,
             cache_dir: str | os.PathLike | None = None, threads: int | None = None,
             progress: Progress | None = None) -> GateReport:
    """Fit the cloud gate of ``model_path``; with ``out_path``, write the model with the gate.

    ``clouds_dir``: CCSN-style folder with split.csv (only its train split fits/calibrates);
    ``not_cloud_dir``: photos of anything but the sky. ``max_per_set`` caps each part (quick fits).
    """
    from ..inference import Classifier

    clf = Classifier.load(model_path, threads=threads)
    data = gate_data(clouds_dir, not_cloud_dir, seed, n_synthetic, n_synthetic_heldout, max_per_set)
    cache = EmbeddingCache(cache_dir, model_path) if cache_dir else None
    parts = {}
    for name in ("fit", "valid", "heldout"):
        report_progress = (lambda done, total, name=name: progress(name, done, total)) if progress else None
        parts[name] = embed_samples(clf, getattr(data, name), cache, progress=report_progress)
    fitted = fit_linear_gate(parts["fit"], parts["valid"], target_accept, cs, seed)
    gate, heldout = fitted.gate, parts["heldout"]
    scores = gate.scores(heldout.x)
    accepted = scores >= gate.threshold
    false_accepts = sorted(((s.key, round(float(v), 4)) for s, v, ok in zip(heldout.samples, scores, accepted)
                            if ok and not s.is_cloud), key=lambda kv: -kv[1])
    report = GateReport(
        threshold=round(gate.threshold, 6), target_cloud_accept=target_accept, c=fitted.c,
        metrics=evaluate_gate(gate, heldout, parts["valid"]),
        counts={name: {k: sum(s.kind == k for s in p.samples) for k in ("cloud", "photo", "synthetic")}
                for name, p in parts.items()},
        per_genus_accept=_per_group(heldout, accepted, "cloud"),
        per_style_accept=_per_group(heldout, accepted, "synthetic"),
        false_accepts=false_accepts,
        failures=[(s.key, msg) for p in parts.values() for s, msg in p.failures],
        seed=seed, model=clf.name,
        synthetic_styles={"fit": list(FIT_STYLES), "heldout_only": list(HELDOUT_STYLES)},
        gate=gate,
    )
    if out_path is not None:
        report.out_path = str(attach_gate(model_path, gate, out_path, report.to_metadata()))
    return report
