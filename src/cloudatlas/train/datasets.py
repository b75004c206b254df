"""Torch datasets over :class:`cloudatlas.data.Sample` lists, decoded once and kept in RAM."""
from __future__ import annotations

import sys

import numpy as np

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

    def __init__(self, views: torch.Tensor, targets):
        # class indices [N], or soft targets [N, C] (distillation)
        self.views, self.targets = views, torch.as_tensor(np.asarray(targets))

    def __len__(self) -> int:
        return self.views.shape[1]

    def __getitem__(self, i: int):
        v = torch.randint(self.views.shape[0], (1,)).item()
        return self.views[v, i].float(), self.targets[i]


class RandomFeatureCrop:
    """Collate cached feature maps into a batch of random crops, one crop size per batch.

    Convolutions commute with translation, so a crop of the frozen blocks' output is (up to
    borders) the frozen blocks' output of the matching crop of the photo: crop augmentation at
    no cost, at the photo's full resolution."""

    def __init__(self, min_fraction: float):
        self.min_fraction = min_fraction

    def __call__(self, batch):
        feats = torch.stack([f for f, _ in batch])
        targets = torch.stack([torch.as_tensor(t) for _, t in batch])
        n, _, h, w = feats.shape
        side = int(torch.randint(max(1, round(self.min_fraction * min(h, w))), min(h, w) + 1, (1,)))
        tops = torch.randint(0, h - side + 1, (n,))
        lefts = torch.randint(0, w - side + 1, (n,))
        crops = torch.stack([feats[i, :, tops[i]:tops[i] + side, lefts[i]:lefts[i] + side] for i in range(n)])
        return crops, targets
