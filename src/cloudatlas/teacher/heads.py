"""The teacher: linear heads on frozen multi-level features of several pretrained backbones.

One standardised logistic regression (:class:`cloudatlas.linear.LinearModel`) per probe,
averaged over probes: diverse backbones, cheap to fit on a CPU, and with out-of-fold
predictions it judges training photos it never saw (for label cleaning and for distillation
targets that are not just the memorised labels).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import TeacherConfig
from ..linear import LinearModel, out_of_fold

MAX_ITER = 3000


@dataclass
class Teacher:
    """Average of one :class:`LinearModel` per probe's features."""

    config: TeacherConfig
    labels: list[str]
    heads: dict[str, LinearModel] = field(default_factory=dict)

    def fit(self, features: dict[str, np.ndarray], targets: np.ndarray, weights: np.ndarray) -> "Teacher":
        """``targets``: a distribution over the labels per photo (soft labels allowed)."""
        for name, x in features.items():
            self.heads[name] = LinearModel.fit(x, targets, C=self.config.C, sample_weight=weights,
                                               n_classes=len(self.labels), max_iter=MAX_ITER)
        return self

    def predict_proba(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.mean([self.heads[name].predict_proba(x) for name, x in features.items()], axis=0)

    def out_of_fold(self, features: dict[str, np.ndarray], targets: np.ndarray, weights: np.ndarray,
                    groups: list[str], seed: int = 0) -> np.ndarray:
        """Each photo's probabilities from heads fitted without its near-duplicate group."""
        def fit_predict(fit_idx, held_idx):
            part = Teacher(self.config, self.labels).fit({k: v[fit_idx] for k, v in features.items()},
                                                        targets[fit_idx], weights[fit_idx])
            return part.predict_proba({k: v[held_idx] for k, v in features.items()})

        return out_of_fold(fit_predict, targets.argmax(1), groups, self.config.folds, seed).astype(np.float32)
