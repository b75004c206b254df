"""Export a trained network to a self-contained ONNX file: no pickle, metadata inside.

The graph takes uint8 RGB ``[N, S, S, 3]`` and does the normalisation itself, so every client
(Python, the web server, a phone) only has to decode and resize. Besides the probabilities it
exposes the pooled ``embedding`` (for the cloud gate and data tools) and a class activation map
``cam`` per label ("where the model looked"), computed from the last feature map.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..labels import canonical_label
from ..metadata import read_metadata, set_metadata, update_metadata

OPSET = 17


class MemberGroup(nn.Module):
    """Networks trained from the same pretrained weights with their first ``shared_blocks`` blocks
    frozen: those blocks are identical in every member, so they run once and only the upper
    parts run per member (an ensemble at a fraction of the cost)."""

    def __init__(self, members: list[nn.Module], shared_blocks: int = 0):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.shared_blocks = shared_blocks

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each member's last feature map ``[N, D, h, w]``."""
        if not self.shared_blocks:
            return [m.forward_features(x) for m in self.members]
        first = self.members[0]
        x = first.bn1(first.conv_stem(x))
        for block in first.blocks[:self.shared_blocks]:
            x = block(x)
        return [self._upper(m, x) for m in self.members]

    def _upper(self, m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        for block in m.blocks[self.shared_blocks:]:
            x = block(x)
        return m.bn2(m.conv_head(x))


class CloudNet(nn.Module):
    """What the exported file computes: pixels in, probabilities + embedding + CAM out.

    ``model`` is one network, a list of them, or a list of :class:`MemberGroup` (networks that
    share frozen blocks; groups may differ in backbone). Every member counts once in the
    average; all members run on the same input size (they are fully convolutional).
    """

    def __init__(self, model: nn.Module | list[nn.Module] | list[MemberGroup], mean, std,
                 gate: nn.Module | None = None, flip_tta: bool = False):
        super().__init__()
        self.flip_tta = flip_tta  # also look at the mirror image (the sky has no handedness)
        models = list(model) if isinstance(model, (list, tuple)) else [model]
        if all(isinstance(m, MemberGroup) for m in models):
            self.groups = nn.ModuleList(models)
        else:
            self.groups = nn.ModuleList([MemberGroup(models)])
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.gate = gate

    def forward(self, image: torch.Tensor):
        x = image.permute(0, 3, 1, 2).float()
        x = (x - self.mean) / self.std
        if self.flip_tta:
            x = torch.cat([x, x.flip(3)])
        probs, embeddings, cams = [], [], []
        for group in self.groups:
            for m, fmap in zip(group.members, group(x)):            # fmap: [N, D, h, w]
                embedding = fmap.mean(dim=(2, 3))                   # [N, D]
                head = m.get_classifier()
                probs.append(torch.softmax(head(embedding), dim=1))
                embeddings.append(embedding)
                cams.append(torch.einsum("cd,ndhw->nchw", head.weight, fmap))  # linear head => exact CAM
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
        outputs = [prob, embedding, cam]
        if self.gate is not None:
            outputs.append(torch.sigmoid(self.gate(embedding)).squeeze(1))
        return tuple(outputs)


def export_onnx(model: nn.Module | list[nn.Module] | list[MemberGroup], path: str | Path, metadata: dict,
                gate: nn.Module | None = None, flip_tta: bool = False, fp16_weights: bool = False) -> Path:
    """Write ``model`` (a timm classifier, or an ensemble of them) with ``metadata`` to ``path``.

    ``fp16_weights`` stores the weights at half size (see :func:`store_weights_fp16`)."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = metadata["preprocessing"]["normalisation_in_graph"]
    net = CloudNet(model, pre["mean"], pre["std"], gate=gate, flip_tta=flip_tta).eval().cpu()
    size = metadata["img_size"]
    dummy = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    names = ["probabilities", "embedding", "cam"] + (["cloud_score"] if gate is not None else [])
    axes = {"image": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    with torch.no_grad():
        torch.onnx.export(net, (dummy,), str(path), input_names=["image"], output_names=names,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    proto = onnx.load(str(path))
    if fp16_weights:
        store_weights_fp16(proto)
        metadata = {**metadata, "weights_storage": "float16, computed in float32"}
    set_metadata(proto, metadata)
    onnx.save(proto, str(path))
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


def export_ensemble(run_dirs: list[str | Path], path: str | Path, flip_tta: bool = False,
                    fp16_weights: bool = False, img_size: int | None = None) -> Path:
    """One ONNX file from several training runs: different seeds, or different backbones.

    Runs of one backbone form a group whose frozen blocks are checked to be identical and
    computed once. Every member counts once in the average of probabilities. All members see
    the same input, ``img_size`` (default: the largest the runs were trained at). Metadata comes
    from the first run, with each member's figures.
    """
    from ..model import create_model

    runs = [Path(r) for r in run_dirs]
    metas = [read_metadata(r / "model.onnx") for r in runs]
    configs = [m["training"]["config"] for m in metas]
    if len({str(c.get("split_seed", 0)) for c in configs}) != 1:
        raise ValueError("Runs differ in split_seed: their validation parts differ, so they cannot "
                         "be compared or combined.")
    if any(m["labels"] != metas[0]["labels"] for m in metas):
        raise ValueError("Runs were trained on different labels.")
    if any(m["preprocessing"] != metas[0]["preprocessing"] for m in metas):
        raise ValueError("Runs normalise their input differently: they cannot share one input.")
    by_arch: dict[str, list[tuple[nn.Module, dict]]] = {}
    for run, config in zip(runs, configs):
        state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)["best_weights"]
        model = create_model(config["arch"], len(metas[0]["labels"]), weights=None)
        model.load_state_dict(state)
        by_arch.setdefault(config["arch"], []).append((model.eval(), config))
    groups = [MemberGroup([m for m, _ in group], _shared_blocks(group)) for group in by_arch.values()]
    meta = dict(metas[0])
    meta["img_size"] = int(img_size or max(m["img_size"] for m in metas))
    meta["arch"] = "+".join(by_arch)
    meta["test_time_augmentation"] = "horizontal flip" if flip_tta else None
    meta["ensemble"] = {"members": len(runs), "shared_blocks": {a: g.shared_blocks for a, g in zip(by_arch, groups)},
                        "runs": [{"arch": c["arch"], "img_size": m["img_size"], "seed": c["seed"],
                                  "freeze_to": c["freeze_to"], "epochs": c["epochs"]}
                                 for c, m in zip(configs, metas)],
                        "valid": [m["metrics"]["valid"] for m in metas]}
    meta["training"] = {**meta["training"], "seeds": [c["seed"] for c in configs],
                        "seconds": sum(m["training"]["seconds"] for m in metas)}
    meta["metrics"] = {}
    path = export_onnx(groups, path, meta, flip_tta=flip_tta, fp16_weights=fp16_weights)
    meta["metrics"]["valid"] = _validate_ensemble(path, runs[0])
    update_metadata(path, metrics=meta["metrics"])
    return path


def _shared_blocks(group: list[tuple[nn.Module, dict]]) -> int:
    """Blocks frozen in every member of a same-backbone group; checked to be identical."""
    shared = min(int(config["freeze_to"] or 0) for _, config in group)
    if shared:
        prefixes = ("conv_stem.", "bn1.") + tuple(f"blocks.{i}." for i in range(shared))
        ref = group[0][0].state_dict()
        for other, _ in group[1:]:
            for key, value in other.state_dict().items():
                if key.startswith(prefixes) and not torch.equal(value, ref[key]):
                    raise ValueError(f"Frozen weights differ ({key}): runs must share their frozen blocks.")
    return shared


def _validate_ensemble(path: Path, run: Path) -> dict:
    """Score the ensemble on the validation photos its members share (same split seed)."""
    from ..data import Sample
    from ..evaluate import evaluate_samples
    from ..inference import Classifier

    data = json.loads((run / "data.json").read_text())
    root = Path(data["data"])
    samples = [Sample(root / key, canonical_label(key.split("/")[0])) for key in data["valid_files"]]
    report = evaluate_samples(Classifier.load(path), samples, "valid", progress=False).report
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "n": report.n}
