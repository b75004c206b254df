"""Classification metrics in plain NumPy (no torch, no scikit-learn needed at evaluation)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class ClassificationReport:
    labels: list[str]
    n: int
    accuracy: float
    macro_f1: float
    macro_precision: float
    macro_recall: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]  # rows: given label, columns: predicted label

    def to_dict(self) -> dict:
        return asdict(self)

    def brief(self) -> dict:
        """The three figures every report quotes."""
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "n": self.n}


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def classification_report(y_true, y_pred, labels: list[str]) -> ClassificationReport:
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0  # macro averages over labels that occur in the data
    per_class = {
        label: {"precision": round(float(precision[i]), 4), "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4), "support": int(support[i])}
        for i, label in enumerate(labels)
    }
    n = int(len(y_true))
    return ClassificationReport(
        labels=list(labels), n=n,
        accuracy=round(float(tp.sum() / n), 4) if n else 0.0,
        macro_f1=round(float(f1[present].mean()), 4) if present.any() else 0.0,
        macro_precision=round(float(precision[present].mean()), 4) if present.any() else 0.0,
        macro_recall=round(float(recall[present].mean()), 4) if present.any() else 0.0,
        per_class=per_class, confusion_matrix=cm.tolist(),
    )


def format_report(report: ClassificationReport) -> str:
    """A readable per-class table, like scikit-learn's classification_report."""
    from ..labels import genus_name

    lines = [f"{'label':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, m in report.per_class.items():
        lines.append(f"{label + ' ' + genus_name(label) if genus_name(label) != label else label:<20}"
                     f"{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}")
    lines.append("")
    lines.append(f"{'accuracy':<20}{'':>20}{report.accuracy:>10.3f}{report.n:>10d}")
    lines.append(f"{'macro avg':<20}{report.macro_precision:>10.3f}{report.macro_recall:>10.3f}"
                 f"{report.macro_f1:>10.3f}{report.n:>10d}")
    return "\n".join(lines)


def per_group_reports(groups: list[str], y_true, y_pred, labels: list[str]) -> dict[str, dict]:
    """Accuracy, macro-F1 and count for each group (e.g. each source of a recipe), sorted by name."""
    groups, y_true, y_pred = np.asarray(groups), np.asarray(y_true), np.asarray(y_pred)
    out = {}
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        out[group] = classification_report(y_true[mask], y_pred[mask], labels).brief()
    return out


# -- probabilities: ranking, levels, calibration --------------------------------------------------
COVERAGES = (0.25, 0.5, 0.75)
ECE_BINS = 10


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Equal-width confidence bins: how sure the answers were and how often they were right."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        if m.any():
            out.append({"low": round(float(lo), 2), "high": round(float(hi), 2), "n": int(m.sum()),
                        "confidence": round(float(confidence[m].mean()), 4),
                        "accuracy": round(float(correct[m].mean()), 4)})
    return out


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """The answers' weighted gap between confidence and accuracy over equal-width bins."""
    n = len(confidence)
    return round(sum(b["n"] / n * abs(b["confidence"] - b["accuracy"]) for b in reliability(confidence, correct, bins)),
                 4) if n else 0.0


def precision_at_coverage(confidence: np.ndarray, correct: np.ndarray, coverages=COVERAGES) -> dict[str, float]:
    """Accuracy of the most confident answers, when only that share of photos is answered."""
    order = np.argsort(-confidence, kind="stable")
    out = {}
    for c in coverages:
        k = max(1, int(round(c * len(order))))
        out[f"{c:.2f}"] = round(float(correct[order[:k]].mean()), 4) if len(order) else 0.0
    return out


def level_probabilities(probs: np.ndarray, labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Probabilities summed per level (high, middle, low) for the labels that have one."""
    from ..labels import LEVELS

    names = list(LEVELS)
    cols = [[labels.index(c) for c in LEVELS[name] if c in labels] for name in names]
    return names, np.stack([probs[:, c].sum(1) for c in cols], axis=1)


def probability_report(probs: np.ndarray, y_true, labels: list[str]) -> dict:
    """Top-1 and top-3 accuracy, level accuracy, per-genus recall, expected calibration error
    and the reliability bins, precision of the most confident answers at 25/50/75 % coverage."""
    from ..labels import LEVEL_OF

    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y_true, int)
    if not len(y):
        return {"n": 0}
    ranked = np.argsort(-probs, axis=1, kind="stable")
    confidence, correct = probs.max(1), ranked[:, 0] == y
    out = {"n": int(len(y)), "top1": round(float(correct.mean()), 4),
           "top3": round(float((ranked[:, :3] == y[:, None]).any(1).mean()), 4),
           "mean_confidence": round(float(confidence.mean()), 4),
           "ece": expected_calibration_error(confidence, correct),
           "precision_at_coverage": precision_at_coverage(confidence, correct),
           "recall": {labels[j]: round(float(correct[y == j].mean()), 4) for j in range(len(labels)) if (y == j).any()},
           "reliability": reliability(confidence, correct)}
    if all(labels[j] in LEVEL_OF for j in set(y.tolist())) and all(l in LEVEL_OF for l in labels):
        names, levels = level_probabilities(probs, labels)
        true_level = np.array([names.index(LEVEL_OF[labels[j]]) for j in y])
        out["level"] = round(float((levels.argmax(1) == true_level).mean()), 4)
    return out


def coarse_report(probs: np.ndarray, allowed: list[tuple[str, ...]], labels: list[str]) -> dict:
    """For photos labelled only to a group of genera: how often the group with the most
    probability is theirs (``coarse_accuracy``), and how often the top genus is one of theirs."""
    from ..labels import COARSE_GROUPS

    probs = np.asarray(probs, dtype=np.float64)
    groups = list(COARSE_GROUPS.values())
    cols = [[labels.index(c) for c in g if c in labels] for g in groups]
    summed = np.stack([probs[:, c].sum(1) for c in cols], axis=1)
    truth = [next((i for i, g in enumerate(groups) if set(a) <= set(g)), -1) for a in allowed]
    top = probs.argmax(1)
    return {"n": len(allowed),
            "coarse_accuracy": round(float(np.mean(summed.argmax(1) == np.array(truth))), 4) if allowed else 0.0,
            "top_in_group": round(float(np.mean([labels[t] in a for t, a in zip(top, allowed)])), 4) if allowed else 0.0}
