"""Frozen-backbone feature probes: a pretrained network as an ONNX embedding model.

The teacher and the label-issue search judge photos by frozen ImageNet features. Exported as
ONNX, those features come out of the same pipeline as every other embedding in CloudAtlas
(``Classifier.embed`` through ``data.embeddings.embed_photos``, cached per model and file), and
run several times faster under ONNX Runtime than in eager PyTorch.

The embedding is multi-level: mean and standard deviation over space of the last stages'
feature maps plus the pooled head features. Clouds are textures; the spread of mid-level
activations describes a texture (fibrous, lumpy, uniform) far better than the last layer's
mean, which is tuned to ImageNet objects.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..model import get_backbone
from ..metadata import build_metadata, set_metadata
from .onnx_export import OPSET

PROBE_STAGES = (3, 4, 5, 6)  # EfficientNet stages whose maps are pooled (stride 16 and 32)


class FeatureProbe(nn.Module):
    """uint8 NHWC pixels -> ``embedding``: [mean, std] of ``stages`` + mean of the head features."""

    def __init__(self, model: nn.Module, mean, std, stages=PROBE_STAGES, flip: bool = True):
        super().__init__()
        self.model, self.stages, self.flip = model, tuple(stages), flip
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.bn1(m.conv_stem(x))
        pooled = []
        for i, block in enumerate(m.blocks):
            x = block(x)
            if i in self.stages:
                pooled += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        pooled.append(m.bn2(m.conv_head(x)).mean(dim=(2, 3)))
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
    probe = FeatureProbe(model, spec.mean, spec.std, flip=flip).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, img_size, img_size, 3, dtype=torch.uint8)
    with torch.no_grad():
        torch.onnx.export(probe, (dummy,), str(path), input_names=["image"], output_names=["embedding"],
                          dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    proto = onnx.load(str(path))
    set_metadata(proto, build_metadata([], img_size, arch, spec.mean, spec.std, name=f"probe-{arch}-{img_size}",
                                       probe={"stages": list(PROBE_STAGES), "flip": flip}))
    onnx.save(proto, str(path))
    return path
