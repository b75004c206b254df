"""Evaluate stage (torch-free): metrics, calibration, confusion matrix, top losses."""
from .evaluate import EVALUATION_PARTS, EvalResult, evaluate, evaluate_parts, evaluate_samples
from .metrics import ClassificationReport, classification_report, format_report, probability_report

__all__ = ["EVALUATION_PARTS", "ClassificationReport", "EvalResult", "classification_report", "evaluate",
           "evaluate_parts", "evaluate_samples", "format_report", "probability_report"]
