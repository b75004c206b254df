"""Put the gate inside the model file: a few ONNX nodes after the ``embedding`` output.

    embedding -> Sub(mean) -> Div(std) -> MatMul(w) -> Add(b) -> Sigmoid -> Squeeze -> cloud_score [N]

The gate's threshold and figures go into the model's metadata (``gate``), so one ``.onnx`` file
carries the classifier, the gate and its calibration; ``Classifier`` then reports ``is_cloud``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .linear import LinearGate

OUTPUT = "cloud_score"
PREFIX = "cloudatlas_gate/"  # names of the nodes and tensors this module adds


class GateAttachError(ValueError):
    """The model cannot take a gate (no ``embedding`` output, or a different width)."""


def _remove_output(graph, name: str) -> None:
    for out in list(graph.output):
        if out.name == name:
            graph.output.remove(out)


def _prune(graph) -> None:
    """Drop nodes and initializers nothing reaches any more (an earlier gate, say)."""
    if any(attr.type in (5, 10) for node in graph.node for attr in node.attribute):  # GRAPH(S)
        return  # sub-graphs can use outer names; not worth the risk for a few dead nodes
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    unused = [init for init in graph.initializer if init.name not in needed]
    for init in unused:
        graph.initializer.remove(init)


def _opset(proto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 17)


def add_gate_nodes(proto, gate: LinearGate, output: str = OUTPUT) -> None:
    """Replace any ``output`` of ``proto`` (in memory) by ``gate``'s score."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    embedding = next((o for o in graph.output if o.name == "embedding"), None)
    if embedding is None:
        raise GateAttachError("the model has no 'embedding' output to put a gate on.")
    dims = embedding.type.tensor_type.shape.dim
    if len(dims) == 2 and dims[1].HasField("dim_value") and dims[1].dim_value != gate.dim:
        raise GateAttachError(f"the gate expects {gate.dim}-d embeddings, the model gives {dims[1].dim_value}.")
    _remove_output(graph, output)
    _prune(graph)
    prefix = PREFIX if output == OUTPUT else f"cloudatlas_{output}/"

    def const(name: str, array: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(array, prefix + name))
        return prefix + name

    f32 = lambda a: np.asarray(a, dtype=np.float32)
    mean, std = const("mean", f32(gate.mean)), const("std", f32(gate.std))
    weight, bias = const("weight", f32(gate.weight).reshape(-1, 1)), const("bias", f32([gate.bias]))
    t = lambda name: prefix + name
    graph.node.extend([
        helper.make_node("Sub", ["embedding", mean], [t("centred")], name=t("sub")),
        helper.make_node("Div", [t("centred"), std], [t("standardised")], name=t("div")),
        helper.make_node("MatMul", [t("standardised"), weight], [t("logit_column")], name=t("matmul")),
        helper.make_node("Add", [t("logit_column"), bias], [t("logit")], name=t("add")),
        helper.make_node("Sigmoid", [t("logit")], [t("score_column")], name=t("sigmoid")),
    ])
    if _opset(proto) >= 13:
        axes = const("axes", np.array([1], dtype=np.int64))
        graph.node.append(helper.make_node("Squeeze", [t("score_column"), axes], [output], name=t("squeeze")))
    else:
        graph.node.append(helper.make_node("Squeeze", [t("score_column")], [output], name=t("squeeze"), axes=[1]))
    batch = dims[0].dim_param or (dims[0].dim_value if dims and dims[0].HasField("dim_value") else None)
    graph.output.append(helper.make_tensor_value_info(output, TensorProto.FLOAT, [batch or "batch"]))


def attach_gate(model_path: str | os.PathLike, gate: LinearGate, out_path: str | os.PathLike | None = None,
                info: dict | None = None, output: str = OUTPUT, metadata_key: str = "gate") -> Path:
    """Write ``model_path`` with ``gate`` built in to ``out_path`` (default: in place).

    ``info`` (threshold, AUROC, acceptance rates, ...) becomes the metadata's ``gate`` entry; the
    gate's own threshold is used when ``info`` has none. The file is replaced atomically.
    """
    import onnx

    from ..metadata import read_metadata, set_metadata

    model_path = Path(model_path)
    out = Path(out_path) if out_path else model_path
    proto = onnx.load(str(model_path))
    add_gate_nodes(proto, gate, output)
    onnx.checker.check_model(proto)
    meta = read_metadata(model_path)
    entry = dict(info or {})
    entry.setdefault("threshold", gate.threshold)
    if entry["threshold"] is None:
        raise GateAttachError("the gate has no threshold; calibrate it before attaching.")
    meta[metadata_key] = entry
    set_metadata(proto, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    onnx.save(proto, str(tmp))
    os.replace(tmp, out)
    return out
