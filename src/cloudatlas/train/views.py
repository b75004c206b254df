"""The frozen blocks' output, computed once per photo and view and kept on disk.

Each photo's views are drawn with a seed of its own (the run's seed, the photo, the view), so a
photo's views are the same in every run, in whatever set and order it comes: an experiment that
adds a source computes views for the new photos only, and a second run of a recipe reuses every
one. One small file per photo under the user cache, keyed by what the views depend on: the
backbone and its weights, the input size, the frozen blocks, the augmentation and the seed.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ..cache import user_cache_dir
from ..embeddings import file_stamp

VERSION = 1  # bump when an augmentation changes, so old views are not reused


def photo_seed(seed: int, photo: str, view: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{photo}:{view}".encode()).digest()[:8], "big") & (2**63 - 1)


class SeededViews(Dataset):
    """``dataset[i]`` drawn with photo ``i``'s own seed for one view (the transforms use torch's RNG)."""

    def __init__(self, dataset: Dataset, seeds: list[int]):
        self.dataset, self.seeds = dataset, seeds

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        torch.manual_seed(self.seeds[i])
        return self.dataset[i]


class ViewStore:
    """``views(learner, photos, make_dataset, n)`` -> ``[n, N, C, H, W]`` float16 feature maps."""

    def __init__(self, key: list):
        digest = hashlib.sha256(json.dumps([VERSION, key]).encode()).hexdigest()[:16]
        self.folder = user_cache_dir("views", digest)

    def _file(self, photo_id: str, path: Path) -> Path:
        name = hashlib.sha256(f"{photo_id}|{file_stamp(path)}".encode()).hexdigest()[:24]
        return self.folder / f"{name}.pt"

    def views(self, learner, photos: list, make_dataset, n: int, seed: int, desc: str) -> torch.Tensor:
        """``photos``: (id, path, image) of each photo; ``make_dataset(images)``: the augmenting
        dataset of those images; ``n`` views each (one view without augmentation: ``seed`` unused)."""
        files = [self._file(pid, path) for pid, path, _ in photos]
        missing = [i for i, f in enumerate(files) if not f.exists()]
        if missing:
            todo = [photos[i] for i in missing]
            dataset = make_dataset([img for _, _, img in todo])
            per_view = [learner.precompute(SeededViews(dataset, [photo_seed(seed, pid, v) for pid, _, _ in todo]), 1,
                                           f"caching {desc} (view {v + 1} of {n})")[0] for v in range(n)]
            self.folder.mkdir(parents=True, exist_ok=True)
            for k, i in enumerate(missing):
                tmp = files[i].with_suffix(".tmp")
                torch.save(torch.stack([views[k] for views in per_view]).clone(), tmp)
                tmp.replace(files[i])  # atomic: an interruption never leaves half a photo's views
        elif photos:
            print(f"using cached {desc}: {self.folder}", file=sys.stderr)
        if not photos:
            return torch.zeros((n, 0))
        stacked = torch.stack([torch.load(f, weights_only=True) for f in files], dim=1)
        return stacked
