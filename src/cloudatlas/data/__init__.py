"""Data stage (torch-free): folder-per-class data sets, their layout on disk, leak-free splits,
several sources assembled into one data set, hashes, audit, label issues, fetch and download."""
from ..errors import DataError
from .assemble import AssembledData, SourcedSample, assemble
from .dataset import Sample, group_split, outvoted_samples, scan_folder, split_of
from .hashes import hash_photos, photo_groups

__all__ = ["AssembledData", "DataError", "Sample", "SourcedSample", "assemble", "group_split", "hash_photos",
           "outvoted_samples", "photo_groups", "scan_folder", "split_of"]
