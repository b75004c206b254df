"""Inference stage: the torch-free Python API (``Classifier``)."""
from .classifier import (BUNDLED_MODEL, METADATA_KEY, Classifier, LabelScore, ModelError, Prediction,
                         bundled_model_path)

__all__ = ["BUNDLED_MODEL", "METADATA_KEY", "Classifier", "LabelScore", "ModelError", "Prediction",
           "bundled_model_path"]
