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
        r = classification_report(y_true[mask], y_pred[mask], labels)
        out[group] = {"accuracy": r.accuracy, "macro_f1": r.macro_f1, "n": r.n}
    return out
