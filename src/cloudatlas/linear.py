"""The one linear model of CloudAtlas, and the one out-of-fold routine.

``LinearModel``: standardise each feature, then a logistic regression (multinomial for several
classes, one sigmoid for two). It takes hard labels or soft targets (a distribution per photo,
expanded to one weighted row per label with mass), sample and class weights. The teacher's heads,
the sky and clear-sky gates and the label-issue search are all this model; the gates run inside
the ONNX file as the same arithmetic (``export.graph``).

``out_of_fold``: each photo's prediction from a model fitted without its fold, folds stratified
by label and drawn by near-duplicate group, so a copy of a photo in another fold can never vouch
for its label.

Fitting needs scikit-learn (the ``data`` or ``train`` extra); predicting needs only NumPy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

MIN_STD = 1e-6  # a feature that never varies (a dead ReLU) is centred, not blown up


@dataclass
class LinearModel:
    mean: np.ndarray      # [D]
    std: np.ndarray       # [D]
    weight: np.ndarray    # [D, k]: k = 1 for two classes (the logit of class 1), else one column per class
    bias: np.ndarray      # [k]
    classes: np.ndarray   # the class indices the columns stand for (classes absent from the fit get 0)
    n_classes: int

    @classmethod
    def fit(cls, x: np.ndarray, targets: np.ndarray, *, C: float, sample_weight: np.ndarray | None = None,
            class_weight: str | dict | None = None, n_classes: int | None = None,
            max_iter: int = 5000) -> "LinearModel":
        """Fit on ``x [N, D]`` and hard labels ``[N]`` or soft targets ``[N, K]``; ``C`` is the
        inverse L2 strength (on standardised features)."""
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(x)
        mean = x.mean(0)
        std = x.std(0)
        std = np.where(std < MIN_STD, np.ones_like(std), std)
        xs = (x - mean) / std
        weights = np.ones(len(x), dtype=np.float32) if sample_weight is None else np.asarray(sample_weight)
        targets = np.asarray(targets)
        if targets.ndim == 2:  # soft targets: one weighted row per label with non-zero mass
            rows, y = np.nonzero(targets > 0)
            xs, weights = xs[rows], weights[rows] * targets[rows, y]
            n_classes = n_classes or targets.shape[1]
        else:
            y = targets.astype(int)
            n_classes = n_classes or int(y.max()) + 1
        model = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter).fit(xs, y, sample_weight=weights)
        return cls(mean, std, model.coef_.T, model.intercept_, np.asarray(model.classes_), n_classes)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def binary(self) -> bool:
        return self.weight.shape[1] == 1

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Logits ``[N, k]``."""
        return ((np.asarray(x) - self.mean) / self.std) @ self.weight + self.bias

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``[N, n_classes]`` probabilities (the same arithmetic as scikit-learn's)."""
        z = self.decision(x)
        out = np.zeros((len(z), self.n_classes), dtype=np.float32)
        if self.binary:
            p = score_of(z[:, 0])
            out[:, self.classes[0]], out[:, self.classes[1]] = 1 - p, p
            return out
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, z)
        z /= z.sum(axis=1, keepdims=True)
        out[:, self.classes] = z
        return out

    def score(self, x: np.ndarray) -> np.ndarray:
        """Two classes: the probability of the second, ``[N]``."""
        if not self.binary:
            raise ValueError("score() is for a model of two classes")
        return score_of(self.decision(x)[:, 0])


def score_of(z: np.ndarray) -> np.ndarray:
    """The sigmoid, without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def group_folds(y: np.ndarray, groups: Sequence[str], folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (fit, held-out) index pairs, stratified by ``y``, whole near-duplicate groups
    on one side."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y, list(groups)))


def out_of_fold(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], y: np.ndarray,
                groups: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """Each row's prediction by ``fit_predict(fit_idx, held_idx)``, a model that never saw its
    near-duplicate group."""
    out = None
    for fit_idx, held_idx in group_folds(y, groups, folds, seed):
        pred = np.asarray(fit_predict(fit_idx, held_idx))
        if out is None:
            out = np.zeros((len(y), *pred.shape[1:]), dtype=pred.dtype)
        out[held_idx] = pred
    return out
