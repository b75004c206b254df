"""Frozen-backbone feature probes: a pretrained network as an ONNX embedding model.

The teacher and ``data decide`` judge photos by frozen ImageNet features. Exported as ONNX,
those features come out of the same pipeline as every other embedding in CloudAtlas
(``cloudatlas.embeddings``, cached per model and file), and run several times faster under ONNX
Runtime than in eager PyTorch.

The embedding is multi-level: mean and standard deviation over space of the last stages'
feature maps plus the pooled head features. Clouds are textures; the spread of mid-level
activations describes a texture (fibrous, lumpy, uniform) far better than the last layer's
mean, which is tuned to ImageNet objects.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..export.onnx_export import export_module
from ..metadata import build_metadata, save_atomic, set_metadata
from ..model import get_backbone
from ..model.registry import Structure


class FeatureProbe(nn.Module):
    """uint8 NHWC pixels -> ``embedding``: [mean, std] of the probe blocks' maps + the pooled
    embedding of the last feature map (the backbone's structure says which blocks)."""

    def __init__(self, model: nn.Module, structure: Structure, mean, std, flip: bool = True):
        super().__init__()
        self.model, self.structure, self.flip = model, structure, flip
        self.blocks = structure.probe_indices(model)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        m, s = self.model, self.structure
        x = s.run_stem(m, x)
        pooled = []
        for i, block in enumerate(s.block_list(m)):
            x = block(x)
            if i in self.blocks:
                pooled += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        pooled.append(s.embedding(m, s.run_neck(m, x)))
        return torch.cat(pooled, dim=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image.permute(0, 3, 1, 2).float() - self.mean) / self.std
        if not self.flip:
            return self._features(x)
        half = x.shape[0]
        both = self._features(torch.cat([x, x.flip(3)]))
        return (both[:half] + both[half:]) / 2  # the sky has no handedness


def export_probe(arch: str, img_size: int, path: str | Path, flip: bool = True) -> Path:
    """Write the pretrained ``arch`` as a feature probe at ``img_size`` to ``path``."""
    import onnx

    spec = get_backbone(arch)
    model = spec.create(1, weights="default").eval()
    probe = FeatureProbe(model, spec.structure, spec.mean, spec.std, flip=flip).eval()
    path = export_module(probe, path, img_size, ["embedding"])
    proto = onnx.load(str(path))
    set_metadata(proto, build_metadata([], img_size, arch, spec.mean, spec.std, name=f"probe-{arch}-{img_size}",
                                       probe={"stages": list(probe.blocks), "flip": flip}))
    save_atomic(proto, path)
    return path
