"""The verdict: ``cloud``, ``clear_sky`` or ``not_sky``, from two gates on the embedding.

    sky gate    (cloud_score):     sky photos (clouds and clear skies) vs everything else
    clear gate  (clear_sky_score): clear skies vs skies with clouds, asked only of sky photos

    verdict = not_sky    if cloud_score < gate threshold
              clear_sky  elif clear_sky_score >= clear-sky threshold
              cloud      otherwise

A clear sky is neither a genus nor "not a sky photo": without the second gate the classifier
would name a genus for it (usually cirrostratus or altostratus). Both gates are logistic
regressions on the standardised embedding, written into the ONNX file next to each other.

Which images fit, calibrate and measure (``recipe_gate_data``):

=============  =====================================================================
fit            the recipe's training cloud photos; ~50 % of clear skies; ~60 % of
               not-sky photos; synthetic charts/screens/documents of the fit styles
valid          the recipe's validation cloud photos and ~20 % of clear skies set the
               thresholds
held out       the recipe's holdout photos and the benchmark's test photos; the rest of
               the clear skies and not-sky photos; synthetic images of every style
=============  =====================================================================
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

import numpy as np

from ..inference.verdict import VERDICTS, verdict_of
from .data import not_cloud_files
from .embeddings import EmbeddingCache, Embedded, GateSample, embed_samples
from .fit import _fit_sklearn, fit_linear_gate
from .linear import LinearGate
from .onnx_graph import attach_gate
from .synthetic import ALL_STYLES, FIT_STYLES, synthetic_specs

CLEAR_OUTPUT = "clear_sky_score"
CLEAR_FIT, CLEAR_VALID = 0.5, 0.2
NOT_SKY_FIT = 0.6
CLOUD_AS_CLEAR_MAX = 0.01  # at most this share of validation cloud photos may be called clear
HELDOUT_SEED_OFFSET = 1000


@dataclass
class VerdictData:
    fit: list[GateSample] = field(default_factory=list)
    valid: list[GateSample] = field(default_factory=list)
    heldout: list[GateSample] = field(default_factory=list)


def _split(items: list, fractions: tuple[float, ...], seed: int) -> list[list]:
    items = list(items)
    random.Random(seed).shuffle(items)
    cuts = np.cumsum([round(f * len(items)) for f in fractions])
    return [items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)])]


def clear_sky_parts(clear_sky_dir: str | os.PathLike, seed: int = 0) -> tuple[list, list, list]:
    """Clear-sky photos that fit, calibrate and measure the clear-sky gate (fit, valid, held out)."""
    return tuple(_split(not_cloud_files(clear_sky_dir), (CLEAR_FIT, CLEAR_VALID), seed))


def not_sky_parts(not_sky_dir: str | os.PathLike, seed: int = 0) -> tuple[list, list]:
    """Photos of other things that fit the sky gate, and those kept back to measure it."""
    return tuple(_split(not_cloud_files(not_sky_dir), (NOT_SKY_FIT,), seed + 1))


def recipe_gate_data(recipe, clear_sky_dir: str | os.PathLike, not_sky_dir: str | os.PathLike, seed: int = 0,
                     n_synthetic: int = 520, n_synthetic_heldout: int = 285) -> VerdictData:
    """The gates' images from a training recipe (``cloudatlas.recipe.Recipe`` or its path)."""
    from ..data.dataset import read_split_file, scan_folder
    from ..data.recipe import assemble

    from ..recipe import Recipe

    recipe = Recipe.of(recipe)
    data = assemble(recipe.data)
    clouds = lambda samples: [GateSample(f"cloud/{s.id}", "cloud", s.source, s.path) for s in samples]
    bench = []
    if recipe.data.benchmark:
        root = recipe.data.resolve(recipe.data.benchmark["path"])
        rows = read_split_file(root, scan_folder(root)) or []
        bench = [GateSample(f"cloud/benchmark:{s.key}", "cloud", "benchmark", s.path)
                 for s in rows if s.split == recipe.data.benchmark.get("split", "test")]
    clear = lambda paths: [GateSample(f"clear/{p.name}", "clear_sky", "clear_sky", p) for p in paths]
    clear_fit, clear_valid, clear_held = map(clear, clear_sky_parts(clear_sky_dir, seed))
    photos = lambda paths: [GateSample(f"photo/{p.name}", "photo", "not_sky", p) for p in paths]
    photo_fit, photo_held = map(photos, not_sky_parts(not_sky_dir, seed))
    synth = lambda specs: [GateSample(s.key, "synthetic", s.style, s) for s in specs]
    return VerdictData(
        fit=clouds(data.train) + clear_fit + photo_fit + synth(synthetic_specs(n_synthetic, seed, FIT_STYLES)),
        valid=clouds(data.valid) + clear_valid,
        heldout=(clouds(data.holdout) + bench + clear_held + photo_held
                 + synth(synthetic_specs(n_synthetic_heldout, seed + HELDOUT_SEED_OFFSET, ALL_STYLES))))


def _sky(e: Embedded) -> Embedded:
    """Relabel for the sky gate: clear skies count as sky photos."""
    samples = [GateSample(s.key, "cloud" if s.kind == "clear_sky" else s.kind, s.group, s.source)
               for s in e.samples]
    return Embedded(samples, e.x, e.failures)


def fit_clear_gate(fit: Embedded, valid: Embedded, max_cloud_as_clear: float = CLOUD_AS_CLEAR_MAX,
                   C: float = 0.01) -> LinearGate:
    """Clear skies (1) against skies with clouds (0); the threshold lets through at most
    ``max_cloud_as_clear`` of the validation cloud photos."""
    kinds = np.array([s.kind for s in fit.samples])
    keep = np.isin(kinds, ["cloud", "clear_sky"])
    scaler, model = _fit_sklearn(fit.x[keep], (kinds[keep] == "clear_sky").astype(int), C)
    gate = LinearGate.from_sklearn(scaler, model)
    cloud_scores = gate.scores(valid.where("cloud").x)
    # The lowest score that only max_cloud_as_clear of the cloud photos reach.
    gate.threshold = math.ceil(float(np.quantile(cloud_scores, 1 - max_cloud_as_clear)) * 1e6) / 1e6 + 1e-6
    return gate


@dataclass
class VerdictReport:
    gate: LinearGate
    clear: LinearGate
    metrics: dict
    counts: dict

    def summary(self) -> str:
        lines = [f"sky gate threshold {self.gate.threshold:.4f}, clear-sky threshold {self.clear.threshold:.4f}",
                 "held-out images (never used to fit or calibrate): verdict shares"]
        for group, shares in self.metrics["heldout"].items():
            lines.append(f"  {group:<24} n={shares['n']:<5} " + "  ".join(
                f"{v} {shares[v]:6.1%}" for v in VERDICTS))
        return "\n".join(lines)


def _verdicts(gate: LinearGate, clear: LinearGate, x: np.ndarray) -> np.ndarray:
    sky, clr = gate.scores(x), clear.scores(x)
    return np.array([verdict_of(a, b, gate.threshold, clear.threshold) for a, b in zip(sky, clr)])


def _shares(samples: list[GateSample], verdicts: np.ndarray) -> dict:
    def group_of(s: GateSample) -> str:
        if s.kind == "cloud":
            return f"cloud ({s.group})"
        return {"clear_sky": "clear sky", "photo": "not-sky photos"}.get(s.kind, "charts, screens, drawings")

    groups: dict[str, list[str]] = {}
    for s, v in zip(samples, verdicts):
        groups.setdefault(group_of(s), []).append(v)
    return {g: {"n": len(vs), **{v: round(float(np.mean(np.array(vs) == v)), 4) for v in VERDICTS}}
            for g, vs in sorted(groups.items())}


def fit_verdict(model_path: str | os.PathLike, recipe, clear_sky_dir, not_sky_dir,
                out_path: str | os.PathLike | None = None, seed: int = 0, target_accept: float = 0.97,
                cache_dir: str | os.PathLike | None = None, n_synthetic: int = 520,
                n_synthetic_heldout: int = 285) -> VerdictReport:
    """Fit both gates on ``model_path``'s embedding; with ``out_path``, write them into the model."""
    from ..inference import Classifier

    clf = Classifier.load(model_path)
    data = recipe_gate_data(recipe, clear_sky_dir, not_sky_dir, seed, n_synthetic, n_synthetic_heldout)
    cache = EmbeddingCache(cache_dir, model_path) if cache_dir else None
    parts = {name: embed_samples(clf, getattr(data, name), cache) for name in ("fit", "valid", "heldout")}
    gate = fit_linear_gate(_sky(parts["fit"]), parts["valid"].where("cloud"), target_accept, seed=seed).gate
    clear = fit_clear_gate(parts["fit"], parts["valid"])
    metrics = {name: _shares(parts[name].samples, _verdicts(gate, clear, parts[name].x))
               for name in ("valid", "heldout")}
    counts = {name: len(p.samples) for name, p in parts.items()}
    report = VerdictReport(gate, clear, metrics, counts)
    if out_path is not None:
        info = {"threshold": gate.threshold, "target_cloud_accept": target_accept,
                "method": "logistic regression on the standardised embedding: sky photos (clouds and "
                          "clear skies) vs other images", "heldout": metrics["heldout"]}
        attach_gate(model_path, gate, out_path, info)
        attach_gate(out_path, clear, out_path, {"threshold": clear.threshold,
                                                "max_cloud_as_clear": CLOUD_AS_CLEAR_MAX},
                    output=CLEAR_OUTPUT, metadata_key="clear_sky")
    return report
