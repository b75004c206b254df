"""Train stage: ``train(TrainConfig(data=...))`` fine-tunes and exports a model."""
from .config import TrainConfig
from .run import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
