"""Fit, calibrate, measure and write the gates: ``fit_gates(model, recipe)``.

    sky gate    (cloud_score):     sky photos (clouds and clear skies) vs everything else
    clear gate  (clear_sky_score): clear skies vs skies with clouds, asked only of sky photos

1. embed every image with the model's own backbone (the one embedding pipeline);
2. sky gate: a standardised logistic regression (:class:`cloudatlas.linear.LinearModel`), C
   chosen by group-aware cross-validation on the fit part for the fewest not-sky images passing
   at the target acceptance; its threshold lets ``target_accept`` of the validation cloud photos
   through (0.985: a margin above the 95 % promise, which held-out photos must keep);
3. clear-sky gate (when there are clear skies): the same model, clear skies against cloud
   photos; its threshold lets at most ``max_cloud_as_clear`` of the validation clouds be clear;
4. measure on held-out images only; 5. write both into the ONNX file (``export.graph``).

The verdict rule that reads them is ``cloudatlas.inference.verdict``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..config import GateConfig, Recipe
from ..data.assemble import AssembledData, assemble
from ..data.synthetic import FIT_STYLES, HELDOUT_STYLES
from ..embeddings import EmbeddingCache
from ..errors import DataError
from ..inference.verdict import VERDICTS, verdict_of
from ..linear import LinearModel, out_of_fold
from .data import gate_data
from .report import METHOD, GateReport
from .samples import Embedded, embed_samples

DEFAULT_CS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
CLEAR_C = 0.01
SKY_OUTPUT, CLEAR_OUTPUT = "cloud_score", "clear_sky_score"

Progress = Callable[[str, int, int], None]


@dataclass
class Gate:
    """A two-class linear model on the embedding and the threshold its score is compared with."""

    model: LinearModel
    threshold: float

    def scores(self, x: np.ndarray) -> np.ndarray:
        return self.model.score(x)

    def accepts(self, x: np.ndarray) -> np.ndarray:
        return self.scores(x) >= self.threshold


def choose_threshold(scores: np.ndarray, target_accept: float) -> float:
    """The highest threshold that still accepts ``target_accept`` of these scores.

    Rounded down to 6 decimals (what ``Classifier`` reports), so float32 inference never turns
    a calibration photo at the threshold into a rejection.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    if scores.size == 0:
        raise DataError("no validation cloud photos to set the gate's threshold on")
    k = int(math.floor((1.0 - target_accept) * scores.size + 1e-9))
    return math.floor(scores[min(k, scores.size - 1)] * 1e6) / 1e6 - 1e-6


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> LinearModel:
    # balanced: ~1.5 k cloud photos against ~0.8 k negatives should not tilt the boundary
    return LinearModel.fit(x, y, C=c, class_weight="balanced", n_classes=2)


def select_c(fit: Embedded, y: np.ndarray, cs: Sequence[float], target_accept: float, seed: int) -> float:
    """Cross-validated C: fewest negatives accepted at the operating point, then best AUROC.

    Out-of-fold scores (folds keep near-duplicates together) are pooled before thresholding:
    per-fold rates on ~60 photos would differ by one photo and pick C by chance.
    """
    from sklearn.metrics import roc_auc_score

    if len(cs) == 1:
        return float(cs[0])
    folds = min(5, int(np.bincount(y).min()))
    results = []
    for c in cs:
        scores = out_of_fold(lambda a, b: _fit(fit.x[a], y[a], c).score(fit.x[b]), y, fit.clusters(), folds, seed)
        thr = choose_threshold(scores[y == 1], target_accept)
        results.append((float(np.mean(scores[y == 0] >= thr)), -float(roc_auc_score(y, scores)), c))
    return float(min(results)[2])


def fit_sky_gate(fit: Embedded, valid: Embedded, target_accept: float, cs: Sequence[float] = DEFAULT_CS,
                 seed: int = 0) -> tuple[Gate, float]:
    """Sky photos (clouds and clear skies) = 1 against everything else; the threshold is set on
    the cloud photos of ``valid``. Returns the gate and the chosen C."""
    y = np.array([s.is_sky for s in fit.samples], dtype=np.int64)
    if y.min() == y.max():
        raise DataError("the sky gate needs both sky photos and other images to fit")
    c = select_c(fit, y, cs, target_accept, seed)
    model = _fit(fit.x, y, c)
    return Gate(model, choose_threshold(model.score(valid.where("cloud").x), target_accept)), c


def fit_clear_gate(fit: Embedded, valid: Embedded, max_cloud_as_clear: float, C: float = CLEAR_C) -> Gate:
    """Clear skies (1) against skies with clouds (0); the threshold lets through at most
    ``max_cloud_as_clear`` of the validation cloud photos."""
    skies = fit.where("cloud", "clear_sky")
    model = _fit(skies.x, (skies.kinds() == "clear_sky").astype(int), C)
    cloud_scores = model.score(valid.where("cloud").x)
    # The lowest score that only max_cloud_as_clear of the cloud photos reach.
    threshold = math.ceil(float(np.quantile(cloud_scores, 1 - max_cloud_as_clear)) * 1e6) / 1e6 + 1e-6
    return Gate(model, threshold)


# -- measuring ----------------------------------------------------------------------------------
def _rate(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4) if mask.size else float("nan")


def sky_metrics(gate: Gate, heldout: Embedded, valid: Embedded) -> dict:
    """AUROC and acceptance rates of the sky gate on held-out images."""
    from sklearn.metrics import roc_auc_score

    scores = gate.scores(heldout.x)
    accepted = scores >= gate.threshold
    kinds = heldout.kinds()
    styles = np.array([s.group for s in heldout.samples])
    y = np.isin(kinds, ["cloud", "clear_sky"]).astype(int)

    def auroc(mask):
        return round(float(roc_auc_score(y[mask], scores[mask])), 4) if len(set(y[mask])) == 2 else float("nan")

    unseen = np.isin(styles, HELDOUT_STYLES) & (kinds == "synthetic")
    return {
        "auroc": auroc(np.ones_like(y, dtype=bool)),
        "auroc_photos": auroc(kinds != "synthetic"),
        "cloud_accept_rate": _rate(accepted[kinds == "cloud"]),
        "not_cloud_accept_rate": _rate(accepted[y == 0]),
        "not_cloud_photo_accept_rate": _rate(accepted[kinds == "photo"]),
        "synthetic_accept_rate": _rate(accepted[kinds == "synthetic"]),
        "synthetic_unseen_style_accept_rate": _rate(accepted[unseen]),
        "valid_cloud_accept_rate": _rate(gate.accepts(valid.where("cloud").x)),
    }


def verdicts(sky: Gate, clear: Gate | None, x: np.ndarray) -> np.ndarray:
    a = sky.scores(x)
    b = clear.scores(x) if clear is not None else [None] * len(x)
    return np.array([verdict_of(u, v, sky.threshold, clear.threshold if clear else None) for u, v in zip(a, b)])


def verdict_shares(samples, found: np.ndarray) -> dict:
    """The share of each verdict per group of images (cloud photos by source, clear skies, ...)."""
    def group_of(s) -> str:
        if s.kind == "cloud":
            return f"cloud ({s.group})"
        return {"clear_sky": "clear sky", "photo": "not-sky photos"}.get(s.kind, "charts, screens, drawings")

    groups: dict[str, list[str]] = {}
    for s, v in zip(samples, found):
        groups.setdefault(group_of(s), []).append(v)
    return {g: {"n": len(vs), **{v: round(float(np.mean(np.array(vs) == v)), 4) for v in VERDICTS}}
            for g, vs in sorted(groups.items())}


def fit_gates(model_path: str | os.PathLike, recipe: Recipe | str | os.PathLike, *, data: AssembledData | None = None,
              config: GateConfig | None = None, out_path: str | os.PathLike | None = None,
              cs: Sequence[float] = DEFAULT_CS, cache_dir: str | os.PathLike | None = None,
              threads: int | None = None, progress: Progress | None = None) -> GateReport:
    """Fit the gates of ``model_path`` on ``recipe``'s photos (its ``[gate]`` table, or ``config``);
    with ``out_path``, write the model with both gates built in."""
    from ..cache import user_cache_dir
    from ..export.graph import attach_scores
    from ..inference import Classifier

    recipe = Recipe.of(recipe)
    config = config or recipe.gate
    if config is None:
        raise DataError("the recipe has no [gate] table: name the not-sky photos (and clear skies) to fit on")
    data = data or assemble(recipe)
    clf = Classifier.load(model_path, threads=threads)
    parts = gate_data(data, config, recipe.resolve)
    cache = EmbeddingCache(cache_dir or user_cache_dir("embeddings"), model_path)
    embedded = {}
    for name, samples in parts.parts().items():
        step = (lambda done, total, name=name: progress(name, done, total)) if progress else None
        embedded[name] = embed_samples(clf, samples, cache, progress=step)
    fit, valid, heldout = embedded["fit"], embedded["valid"], embedded["heldout"]
    sky, c = fit_sky_gate(fit, valid, config.target_accept, cs, config.seed)
    clear = fit_clear_gate(fit, valid, config.max_cloud_as_clear) if config.clear_sky else None
    shares = {name: verdict_shares(e.samples, verdicts(sky, clear, e.x)) for name, e in (("valid", valid),
                                                                                        ("heldout", heldout))}
    scores = sky.scores(heldout.x)
    false_accepts = sorted(((s.key, round(float(v), 4)) for s, v in zip(heldout.samples, scores)
                            if v >= sky.threshold and not s.is_sky), key=lambda kv: -kv[1])
    report = GateReport(
        threshold=round(sky.threshold, 6), clear_sky_threshold=clear and round(clear.threshold, 6),
        target_cloud_accept=config.target_accept, max_cloud_as_clear=config.max_cloud_as_clear, c=c,
        metrics=sky_metrics(sky, heldout, valid), verdicts=shares,
        counts={name: {k: sum(s.kind == k for s in e.samples) for k in ("cloud", "clear_sky", "photo", "synthetic")}
                for name, e in embedded.items()},
        false_accepts=false_accepts, failures=[(s.key, msg) for e in embedded.values() for s, msg in e.failures],
        seed=config.seed, model=clf.name, synthetic_styles={"fit": list(FIT_STYLES), "heldout_only": list(HELDOUT_STYLES)},
        sky=sky, clear=clear)
    if out_path is not None:
        scores = [(SKY_OUTPUT, sky.model, "gate", report.to_metadata())]
        if clear is not None:
            scores.append((CLEAR_OUTPUT, clear.model, "clear_sky",
                           {"threshold": clear.threshold, "max_cloud_as_clear": config.max_cloud_as_clear,
                            "method": METHOD.replace("sky photos", "clear skies")}))
        report.out_path = str(attach_scores(model_path, scores, out_path))
    return report
