"""The teacher: linear heads on frozen multi-level features of several pretrained backbones.

Each probe (EfficientNet-Lite0/1/2 at its own input size, see ``export.probe``) embeds every
photo once through the one embedding pipeline (``cloudatlas.embeddings``: ONNX Runtime, cached
per model and file). A standardised multinomial logistic regression per probe, averaged
over probes, is the teacher: diverse backbones, cheap to fit on a CPU, and with out-of-fold
predictions it judges training photos it never saw (for label cleaning and for distillation
targets that are not just the memorised labels).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.recipe import SourcedSample


@dataclass
class ProbeSpec:
    arch: str
    img_size: int

    @property
    def name(self) -> str:
        return f"{self.arch}-{self.img_size}"


@dataclass
class TeacherConfig:
    probes: list[ProbeSpec] = field(default_factory=lambda: [
        ProbeSpec("efficientnet_lite0", 320), ProbeSpec("efficientnet_lite1", 320),
        ProbeSpec("efficientnet_lite2", 352)])
    C: float = 0.05              # inverse L2 strength of the logistic regressions (standardised features)
    folds: int = 5               # out-of-fold predictions for the photos a head was fitted on

    @classmethod
    def from_dict(cls, raw: dict) -> "TeacherConfig":
        raw = dict(raw)
        if "probes" in raw:
            raw["probes"] = [ProbeSpec(**p) for p in raw["probes"]]
        return cls(**raw)


def probe_model(spec: ProbeSpec, folder: str | Path) -> Path:
    """The probe's ONNX file in ``folder``, exported on first use (needs torch)."""
    path = Path(folder) / f"probe-{spec.name}.onnx"
    if not path.exists():
        from ..export.probe import export_probe
        export_probe(spec.arch, spec.img_size, path)
    return path


def embed_samples(samples: list[SourcedSample], model_path: str | Path, progress: bool = True
                  ) -> tuple[np.ndarray, list[str | None]]:
    """Embeddings of photos from any number of data set folders, in order (cached per folder)."""
    from ..data.label_issues import embed_photos
    from ..inference import Classifier

    clf = Classifier.load(model_path)
    by_root: dict[Path, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_root[s.path.parent.parent].append(i)
    out: np.ndarray | None = None
    errors: list[str | None] = [None] * len(samples)
    for root, idx in by_root.items():
        x, err = embed_photos(root, [samples[i] for i in idx], clf, progress=progress)
        if out is None:
            out = np.zeros((len(samples), x.shape[1]), dtype=np.float32)
        out[idx] = x
        for i, e in zip(idx, err):
            errors[i] = e
    return (out if out is not None else np.zeros((0, 0), np.float32)), errors


def _expand_soft(x: np.ndarray, targets: np.ndarray, weights: np.ndarray):
    """Soft targets for scikit-learn: one weighted row per label with non-zero mass."""
    rows, cols = np.nonzero(targets > 0)
    return x[rows], cols, weights[rows] * targets[rows, cols]


class LinearHead:
    """Standardise, then multinomial logistic regression (soft targets via weighted rows)."""

    def __init__(self, C: float, n_classes: int):
        self.C, self.n_classes = C, n_classes

    def fit(self, x: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> "LinearHead":
        from sklearn.linear_model import LogisticRegression

        self.mean = x.mean(0)
        self.std = np.maximum(x.std(0), 1e-6)
        xs, y, w = _expand_soft((x - self.mean) / self.std, targets, weights)
        self.model = LogisticRegression(C=self.C, max_iter=3000).fit(xs, y, sample_weight=w)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.model.predict_proba((x - self.mean) / self.std)
        out = np.zeros((len(x), self.n_classes), dtype=np.float32)
        out[:, self.model.classes_] = p
        return out


@dataclass
class Teacher:
    """Average of one :class:`LinearHead` per probe."""

    config: TeacherConfig
    labels: list[str]
    heads: dict[str, LinearHead] = field(default_factory=dict)

    def fit(self, features: dict[str, np.ndarray], targets: np.ndarray, weights: np.ndarray) -> "Teacher":
        for name, x in features.items():
            self.heads[name] = LinearHead(self.config.C, len(self.labels)).fit(x, targets, weights)
        return self

    def predict_proba(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.mean([self.heads[name].predict_proba(x) for name, x in features.items()], axis=0)

    def out_of_fold(self, features: dict[str, np.ndarray], targets: np.ndarray, weights: np.ndarray,
                    groups: list[str], seed: int = 0) -> np.ndarray:
        """Each photo's probabilities from heads fitted without its near-duplicate group."""
        from sklearn.model_selection import StratifiedGroupKFold

        y = targets.argmax(1)
        folds = StratifiedGroupKFold(n_splits=self.config.folds, shuffle=True, random_state=seed)
        out = np.zeros((len(y), len(self.labels)), dtype=np.float32)
        first = next(iter(features.values()))
        for fit_idx, held_idx in folds.split(first, y, groups):
            part = Teacher(self.config, self.labels).fit({k: v[fit_idx] for k, v in features.items()},
                                                        targets[fit_idx], weights[fit_idx])
            out[held_idx] = part.predict_proba({k: v[held_idx] for k, v in features.items()})
        return out
