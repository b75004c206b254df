"""Is it a cloud photo? A gate in front of the genus classifier.

The classifier names a genus for any input, a chart included. The gate scores how much an image
looks like a sky photo from the backbone's embedding and says "not a cloud" below a threshold
calibrated on cloud photos. It lives inside the ONNX model (output ``cloud_score``, metadata
``gate``), so serving needs no extra file and no scikit-learn.

    report = fit_gate("model.onnx", "data/ccsn", "data/not_cloud", out_path="model.onnx")
    print(report.summary())
"""
from .embeddings import EmbeddingCache, Embedded, GateSample, embed_samples
from .fit import choose_threshold, evaluate_gate, fit_gate, fit_linear_gate
from .linear import LinearGate
from .onnx_graph import GateAttachError, add_gate_nodes, attach_gate
from .report import GateReport
from .synthetic import (ALL_STYLES, FIT_STYLES, HELDOUT_STYLES, SyntheticSpec, render_negative,
                        synthetic_negatives, synthetic_specs)

__all__ = ["ALL_STYLES", "EmbeddingCache", "Embedded", "FIT_STYLES", "GateAttachError", "GateReport",
           "GateSample", "HELDOUT_STYLES", "LinearGate", "SyntheticSpec", "add_gate_nodes", "attach_gate",
           "choose_threshold", "embed_samples", "evaluate_gate", "fit_gate", "fit_linear_gate",
           "render_negative", "synthetic_negatives", "synthetic_specs"]
