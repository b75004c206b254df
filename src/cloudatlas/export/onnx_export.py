"""Export a trained network to a self-contained ONNX file: no pickle, metadata inside.

The graph takes uint8 RGB ``[N, S, S, 3]`` and does the normalisation itself, so every client
(Python, the web server, a phone) only has to decode and resize. Besides the probabilities it
exposes the pooled ``embedding`` (for the cloud gate and data tools) and a class activation map
``cam`` per label ("where the model looked"), computed from the last feature map.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from ..inference.classifier import METADATA_KEY
from ..labels import genus_name

OPSET = 17


class CloudNet(nn.Module):
    """What the exported file computes: pixels in, probabilities + embedding + CAM out."""

    def __init__(self, model: nn.Module, mean, std, gate: nn.Module | None = None):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.gate = gate

    def forward(self, image: torch.Tensor):
        x = image.permute(0, 3, 1, 2).float()
        x = (x - self.mean) / self.std
        fmap = self.model.forward_features(x)                      # [N, D, h, w]
        embedding = fmap.mean(dim=(2, 3))                           # [N, D]
        head = self.model.get_classifier()
        logits = head(embedding)
        cam = torch.einsum("cd,ndhw->nchw", head.weight, fmap)     # linear head => exact CAM
        outputs = [torch.softmax(logits, dim=1), embedding, cam]
        if self.gate is not None:
            outputs.append(torch.sigmoid(self.gate(embedding)).squeeze(1))
        return tuple(outputs)


def build_metadata(labels: list[str], img_size: int, arch: str, mean, std, **extra) -> dict:
    from .. import __version__

    return {
        "format": "cloudatlas-onnx/1",
        "name": extra.pop("name", f"cloudatlas-{arch}"),
        "version": extra.pop("version", __version__),
        "labels": list(labels),
        "names": [genus_name(code) for code in labels],
        "img_size": int(img_size),
        "arch": arch,
        "preprocessing": {
            "input": "uint8 RGB, NHWC",
            "resize": "shorter side to img_size, then centre crop img_size x img_size (bilinear)",
            "orientation": "EXIF orientation applied",
            "normalisation_in_graph": {"mean": list(mean), "std": list(std), "scale": 255},
        },
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def export_onnx(model: nn.Module, path: str | Path, metadata: dict, gate: nn.Module | None = None) -> Path:
    """Write ``model`` (a timm classifier) with ``metadata`` to ``path``."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = metadata["preprocessing"]["normalisation_in_graph"]
    net = CloudNet(model, pre["mean"], pre["std"], gate=gate).eval().cpu()
    size = metadata["img_size"]
    dummy = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    names = ["probabilities", "embedding", "cam"] + (["cloud_score"] if gate is not None else [])
    axes = {"image": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    with torch.no_grad():
        torch.onnx.export(net, (dummy,), str(path), input_names=["image"], output_names=names,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    proto = onnx.load(str(path))
    set_metadata(proto, metadata)
    onnx.save(proto, str(path))
    return path


def set_metadata(proto, metadata: dict) -> None:
    """Store ``metadata`` as JSON under the ``cloudatlas`` key of the model's metadata_props."""
    for prop in list(proto.metadata_props):
        if prop.key == METADATA_KEY:
            proto.metadata_props.remove(prop)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)


def read_metadata(path: str | Path) -> dict:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise ValueError(f"{path}: no CloudAtlas metadata.")


def update_metadata(path: str | Path, **changes) -> dict:
    """Merge ``changes`` into a model file's metadata in place; returns the new metadata."""
    import onnx

    proto = onnx.load(str(path))
    meta = read_metadata(path)
    meta.update(changes)
    set_metadata(proto, meta)
    onnx.save(proto, str(path))
    return meta
