"""Train stage (torch): ``train(recipe)`` or ``train(data=DIR)``: one trainer for both."""
from .trainer import TrainResult, Trainer, train

__all__ = ["TrainResult", "Trainer", "train"]
