"""Train stage (torch): ``train(recipe)`` or ``train(data=DIR)``: one trainer for both."""
import os

# OpenMP threads that spin while they wait collapse when anything else wants the CPU (a browser, a
# test run): caching views ran at 1.5 photos/s instead of 22 on two shared cores. Waiting threads
# that sleep cost ~15 % when the machine is idle and nothing when it is not. Set before torch starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from .trainer import TrainResult, Trainer, train

__all__ = ["TrainResult", "Trainer", "train"]
