"""Inference stage: the torch-free Python API (``Classifier``)."""
from .answer import CONFIDENCE, WORDS, LevelScore, confidence_of, headline, levels_of, thresholds_of
from .classifier import (BUNDLED_MODEL, METADATA_KEY, Classifier, LabelScore, ModelError, Prediction,
                         bundled_model_path)

__all__ = ["BUNDLED_MODEL", "CONFIDENCE", "METADATA_KEY", "WORDS", "Classifier", "LabelScore", "LevelScore",
           "ModelError", "Prediction", "bundled_model_path", "confidence_of", "headline", "levels_of",
           "thresholds_of"]
