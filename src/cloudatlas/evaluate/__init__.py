"""Evaluate stage: metrics, confusion matrix, top losses (torch-free)."""
from .evaluate import EvalResult, evaluate, select_samples
from .metrics import ClassificationReport, classification_report, format_report

__all__ = ["ClassificationReport", "EvalResult", "classification_report", "evaluate", "format_report",
           "select_samples"]
