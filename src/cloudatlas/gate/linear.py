"""The gate itself: a logistic regression on the standardised backbone embedding.

``score = sigmoid(((x - mean) / std) . weight + bias)``; an image is a cloud photo when
``score >= threshold``. The same arithmetic runs in NumPy here and inside the ONNX graph.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_STD = 1e-6  # dimensions that never vary (dead ReLUs) must not divide by zero


@dataclass
class LinearGate:
    mean: np.ndarray  # [D]
    std: np.ndarray  # [D]
    weight: np.ndarray  # [D]
    bias: float
    threshold: float | None = None

    @classmethod
    def from_sklearn(cls, scaler, model, threshold: float | None = None) -> "LinearGate":
        """From a fitted ``StandardScaler`` and a binary linear classifier (class 1 = cloud)."""
        if list(model.classes_) != [0, 1]:
            raise ValueError(f"expected classes [0, 1] (1 = cloud), got {list(model.classes_)}")
        std = np.maximum(np.asarray(scaler.scale_, dtype=np.float64), MIN_STD)
        return cls(np.asarray(scaler.mean_, dtype=np.float64), std,
                   np.asarray(model.coef_, dtype=np.float64).ravel(), float(model.intercept_[0]), threshold)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.float64) - self.mean) / self.std) @ self.weight + self.bias

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Cloud score in [0, 1] per row of ``x``."""
        z = self.logits(x)
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = sigmoid(z), without overflow warnings

    def accepts(self, x: np.ndarray) -> np.ndarray:
        if self.threshold is None:
            raise ValueError("the gate has no threshold yet")
        return self.scores(x) >= self.threshold
