"""Evaluate stage: metrics, confusion matrix, top losses (torch-free)."""
from .evaluate import EvalResult, evaluate, evaluate_samples, select_samples
from .metrics import ClassificationReport, classification_report, format_report

__all__ = ["ClassificationReport", "EvalResult", "classification_report", "evaluate", "evaluate_samples", "format_report",
           "select_samples"]
