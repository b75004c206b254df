"""Export a trained network to a self-contained ONNX file: no pickle, metadata inside.

The graph takes uint8 RGB ``[N, S, S, 3]`` and does the normalisation itself, so every client
(Python, the web server, a phone) only has to decode and resize. Besides the probabilities it
exposes the pooled ``embedding`` (for the cloud gate and data tools) and a class activation map
``cam`` per label ("where the model looked"), computed from the last feature map.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..metadata import save_atomic, set_metadata
from ..model.registry import Structure

OPSET = 17


class MemberGroup(nn.Module):
    """Networks of one backbone trained from the same pretrained weights with their first
    ``shared_blocks`` blocks frozen: those blocks are identical in every member, so they run once
    and only the upper parts run per member (an ensemble at a fraction of the cost)."""

    def __init__(self, members: list[nn.Module], structure: Structure, shared_blocks: int = 0):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.structure = structure
        self.shared_blocks = shared_blocks

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each member's last feature map ``[N, D, h, w]``."""
        lower = self.structure.lower(self.members[0], x, self.shared_blocks)
        return [self.structure.upper_features(m, lower, self.shared_blocks) for m in self.members]


class CloudNet(nn.Module):
    """What the exported file computes: pixels in, probabilities + embedding + CAM out.

    ``model`` is one network (with its backbone's ``structure``) or a list of
    :class:`MemberGroup` (groups may differ in backbone). Every member counts once in the
    average; all members run on the same input size (they are fully convolutional).
    """

    def __init__(self, model: nn.Module | list[MemberGroup], mean, std, structure: Structure | None = None,
                 flip_tta: bool = False):
        super().__init__()
        self.flip_tta = flip_tta  # also look at the mirror image (the sky has no handedness)
        if isinstance(model, (list, tuple)):
            self.groups = nn.ModuleList(model)
        else:
            if structure is None:
                raise ValueError("CloudNet needs the structure of a single network (its BackboneSpec's)")
            self.groups = nn.ModuleList([MemberGroup([model], structure)])
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)

    def forward(self, image: torch.Tensor):
        x = image.permute(0, 3, 1, 2).float()
        x = (x - self.mean) / self.std
        if self.flip_tta:
            x = torch.cat([x, x.flip(3)])
        probs, embeddings, cams = [], [], []
        for group in self.groups:
            for m, fmap in zip(group.members, group(x)):            # fmap: [N, D, h, w]
                embedding = group.structure.embedding(m, fmap)      # [N, D]
                probs.append(torch.softmax(m.get_classifier()(embedding), dim=1))
                embeddings.append(embedding)
                cams.append(group.structure.cam(m, fmap))
        n = len(probs)
        prob, embedding = sum(probs) / n, sum(embeddings) / n
        if len(self.groups) > 1:  # backbones may differ in stride: put their CAMs on one grid
            cams = [cams[0]] + [nn.functional.interpolate(c, size=cams[0].shape[-2:], mode="bilinear")
                                for c in cams[1:]]
        cam = sum(cams) / n
        if self.flip_tta:  # average each photo with its mirror image (its CAM mirrored back)
            half = image.shape[0]
            prob = (prob[:half] + prob[half:]) / 2
            embedding = (embedding[:half] + embedding[half:]) / 2
            cam = (cam[:half] + cam[half:].flip(3)) / 2
        return prob, embedding, cam


def export_module(module: nn.Module, path: str | Path, img_size: int, output_names: list[str]) -> Path:
    """Trace ``module`` (uint8 NHWC pixels in) into an ONNX file with a dynamic batch axis."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, img_size, img_size, 3, dtype=torch.uint8)
    axes = {"image": {0: "batch"}, **{n: {0: "batch"} for n in output_names}}
    with torch.no_grad():
        torch.onnx.export(module, (dummy,), str(path), input_names=["image"], output_names=output_names,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return path


def export_onnx(model: nn.Module | list[MemberGroup], path: str | Path, metadata: dict, flip_tta: bool = False,
                fp16_weights: bool = False) -> Path:
    """Write ``model`` (a timm classifier of ``metadata["arch"]``, or groups of an ensemble) with
    ``metadata`` to ``path``. ``fp16_weights`` stores the weights at half size
    (see :func:`store_weights_fp16`)."""
    import onnx

    from ..model import get_backbone

    pre = metadata["preprocessing"]["normalisation_in_graph"]
    structure = None if isinstance(model, (list, tuple)) else get_backbone(metadata["arch"]).structure
    net = CloudNet(model, pre["mean"], pre["std"], structure=structure, flip_tta=flip_tta).eval().cpu()
    path = export_module(net, path, metadata["img_size"], ["probabilities", "embedding", "cam"])
    proto = onnx.load(str(path))
    if fp16_weights:
        store_weights_fp16(proto)
        metadata = {**metadata, "weights_storage": "float16, computed in float32"}
    set_metadata(proto, metadata)
    save_atomic(proto, path)
    return path


def store_weights_fp16(proto, min_elements: int = 1024) -> int:
    """Halve the file: large fp32 weights are stored as fp16, each behind a Cast back to fp32.

    ONNX Runtime folds those Casts into constants when it loads the model, so inference still
    runs in fp32 at full speed; only the weights' last mantissa bits are lost (< 1e-3 relative).
    Weights may be initializers or Constant nodes (the exporter folds BatchNorm into those).
    Returns the number of tensors converted.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph

    def is_big_float(tensor) -> bool:
        return tensor.data_type == TensorProto.FLOAT and int(np.prod(tensor.dims)) >= min_elements

    def half_of(tensor, name: str):
        return numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), name)

    nodes, converted = [], 0
    for init in list(graph.initializer):
        if is_big_float(init):
            graph.initializer.remove(init)
            graph.initializer.append(half_of(init, init.name + "__fp16"))
            nodes.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name], to=TensorProto.FLOAT))
            converted += 1
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is not None and is_big_float(value.t):
            out = node.output[0]
            nodes.append(helper.make_node("Constant", [], [out + "__fp16"], value=half_of(value.t, out + "__fp16")))
            nodes.append(helper.make_node("Cast", [out + "__fp16"], [out], to=TensorProto.FLOAT))
            node.output[0] = out + "__unused"
            converted += 1
    kept = [n for n in graph.node if not (n.op_type == "Constant" and n.output[0].endswith("__unused"))]
    del graph.node[:]
    graph.node.extend(nodes + kept)
    return converted
