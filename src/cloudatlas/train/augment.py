"""Augmentation for sky photos, and the evaluation transform that matches inference exactly."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from ..imageio import center_square


def train_transform(img_size: int, mean, std) -> v2.Compose:
    """Crops at several scales (cloud elements' apparent size is a key cue, so not too small),
    mirror images (the sky has no handedness), mild light changes. No vertical flips: the
    horizon and the cloud base are informative. No hue shifts: sky colour is too."""
    return v2.Compose([
        v2.RandomResizedCrop(img_size, scale=(0.35, 1.0), ratio=(0.75, 1.333), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([RotateWithoutCorners(10)], p=0.3),
        v2.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.15),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ])


class RotateWithoutCorners(torch.nn.Module):
    """A small rotation, then the largest centred square that holds no corner fill.

    A plain rotation paints black wedges into the corners, which photos never have at test time:
    the model would learn that "black corners" means "training". Cropping them away and scaling
    back keeps the tilt as the only change."""

    def __init__(self, degrees: float):
        super().__init__()
        self.degrees = degrees

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        angle = float(torch.empty(1).uniform_(-self.degrees, self.degrees))
        h, w = img.shape[-2:]
        rotated = v2.functional.rotate(img, angle, interpolation=v2.InterpolationMode.BILINEAR)
        rad = abs(np.deg2rad(angle))
        # A centred square of side s fits inside a rotated w x h rectangle when
        # s * (cos + sin) <= min(w, h).
        side = int(min(h, w) / (np.cos(rad) + np.sin(rad))) - 2  # - 2: bilinear blends the edge
        return v2.functional.resized_crop(rotated, (h - side) // 2, (w - side) // 2, side, side, [h, w],
                                          antialias=True)


def whole_view_transform(img_size: int, mean, std) -> v2.Compose:
    """Whole-photo views for ``feature_crop`` training: the crops are taken later, from the
    frozen blocks' feature maps, so here only mirror images and light changes vary."""
    return v2.Compose([
        v2.Resize(img_size, antialias=True),
        v2.CenterCrop(img_size),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.15),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ])


def eval_transform(img_size: int, mean, std):
    """Same pixels as the ONNX inference path: PIL centre square, then normalise."""
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)

    def apply(img: Image.Image) -> torch.Tensor:
        x = torch.from_numpy(center_square(img, img_size)).permute(2, 0, 1).float() / 255
        return (x - mean_t) / std_t

    return apply


def to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()
