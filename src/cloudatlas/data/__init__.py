"""Data stage: folder-per-class data sets, leak-free splits (torch-free)."""
from .dataset import (DataError, DataSplit, Sample, conflicting_groups, group_split, load_split,
                      outvoted_samples,
                      perceptual_groups, scan_folder)

__all__ = ["DataError", "DataSplit", "Sample", "conflicting_groups", "group_split", "load_split",
           "outvoted_samples",
           "perceptual_groups", "scan_folder"]
