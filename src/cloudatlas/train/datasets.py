"""Torch datasets over :class:`cloudatlas.data.Sample` lists, decoded once and kept in RAM."""
from __future__ import annotations

import sys

import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..data import Sample
from ..imageio import ImageLoadError, load_image
from .augment import to_uint8_tensor


def decode_all(samples: list[Sample], keep_side: int, desc: str) -> tuple[list[Image.Image], list[Sample], list[str]]:
    """Decode every photo once, shrunk so its shorter side is at most ``keep_side``.

    Returns images, the samples that decoded, and one message per unreadable file (skipped).
    """
    images, kept, problems = [], [], []
    for s in tqdm(samples, desc=desc, unit="img", leave=False, file=sys.stderr):
        try:
            img = load_image(s.path, min_size=keep_side)
        except ImageLoadError as err:
            problems.append(str(err))
            continue
        scale = keep_side / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR,
                             reducing_gap=2.0)
        images.append(img)
        kept.append(s)
    return images, kept, problems


class PhotoDataset(Dataset):
    def __init__(self, images: list[Image.Image], targets: list[int], transform, as_tensor: bool):
        self.images, self.targets, self.transform = images, targets, transform
        self.as_tensor = as_tensor  # train transforms work on uint8 tensors, eval on PIL

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        img = to_uint8_tensor(self.images[i]) if self.as_tensor else self.images[i]
        return self.transform(img), self.targets[i]


class FeatureDataset(Dataset):
    """Cached frozen-stage features: ``views[v][i]`` is view ``v`` of photo ``i``.

    Each epoch draws one view per photo, so the upper network still sees varied crops."""

    def __init__(self, views: torch.Tensor, targets: list[int]):
        self.views, self.targets = views, torch.tensor(targets)
        self.epoch = 0

    def __len__(self) -> int:
        return self.views.shape[1]

    def __getitem__(self, i: int):
        v = torch.randint(self.views.shape[0], (1,)).item()
        return self.views[v, i].float(), self.targets[i]
