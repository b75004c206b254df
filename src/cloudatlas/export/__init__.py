"""Export stage: ONNX files with metadata inside, ensembles, graph edits, int8 quantisation.

Exporting a network needs torch; graph edits, int8 quantisation and the metadata need only ONNX
(Runtime). Names are imported on first use, so ``from cloudatlas.export import quantize_int8``
works in a runtime install without torch.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "CloudNet": ".onnx_export", "MemberGroup": ".onnx_export", "export_onnx": ".onnx_export",
    "export_module": ".onnx_export", "export_ensemble": ".ensemble",
    "attach_scores": ".graph", "add_score_output": ".graph",
    "QuantizeResult": ".quantize", "quantize_int8": ".quantize",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
