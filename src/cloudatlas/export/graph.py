"""Edits of an exported model graph: a linear model's output after the ``embedding``.

    embedding -> Sub(mean) -> Div(std) -> MatMul(w) -> Add(b) -> Sigmoid -> Squeeze -> NAME [N]

A gate is a two-class :class:`cloudatlas.linear.LinearModel` on the embedding; written here,
it runs inside the model file, so one ``.onnx`` carries the classifier, its gates and their
calibration, and every client (Python, the server, the phone) computes the same scores.
Needs only the ``onnx`` package (no torch).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import GraphError
from ..linear import LinearModel
from ..metadata import metadata_of, save_atomic, set_metadata


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


def add_score_output(proto, model: LinearModel, output: str, source: str = "embedding") -> None:
    """Replace any ``output`` of ``proto`` (in memory) by the two-class ``model``'s score of ``source``."""
    from onnx import TensorProto, helper, numpy_helper

    if not model.binary:
        raise GraphError(f"{output}: only a two-class linear model gives one score per photo.")
    graph = proto.graph
    embedding = next((o for o in graph.output if o.name == source), None)
    if embedding is None:
        raise GraphError(f"the model has no {source!r} output to put {output!r} on.")
    dims = embedding.type.tensor_type.shape.dim
    if len(dims) == 2 and dims[1].HasField("dim_value") and dims[1].dim_value != model.dim:
        raise GraphError(f"{output} expects {model.dim}-d embeddings, the model gives {dims[1].dim_value}.")
    _remove_output(graph, output)
    _prune(graph)
    prefix = "cloudatlas_gate/" if output == "cloud_score" else f"cloudatlas_{output}/"

    def const(name: str, array: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(array, prefix + name))
        return prefix + name

    f32 = lambda a: np.asarray(a, dtype=np.float32)
    mean, std = const("mean", f32(model.mean)), const("std", f32(model.std))
    weight, bias = const("weight", f32(model.weight).reshape(-1, 1)), const("bias", f32(model.bias).reshape(1))
    t = lambda name: prefix + name
    graph.node.extend([
        helper.make_node("Sub", [source, mean], [t("centred")], name=t("sub")),
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


def attach_scores(model_path: str | os.PathLike, scores: list[tuple[str, LinearModel, str, dict]],
                  out_path: str | os.PathLike | None = None) -> Path:
    """Write ``model_path`` with each ``(output, model, metadata key, metadata entry)`` built in,
    to ``out_path`` (default: in place, atomically)."""
    import onnx

    from ..errors import MetadataError

    model_path = Path(model_path)
    try:
        proto = onnx.load(str(model_path))
    except Exception as err:  # protobuf's decode errors have no common public base
        raise MetadataError(f"{model_path}: not an ONNX model ({type(err).__name__}).") from None
    meta = metadata_of(proto)
    for output, model, key, entry in scores:
        add_score_output(proto, model, output)
        meta[key] = entry
    onnx.checker.check_model(proto)
    set_metadata(proto, meta)
    return save_atomic(proto, out_path or model_path)
