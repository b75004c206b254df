"""Gate stage: is it a sky photo at all, and is that sky clear? Two gates in front of the genus.

The classifier names a genus for any input, a chart or a blue sky included. The sky gate scores
how much an image looks like a sky photo, the clear-sky gate how clear that sky is, both from the
network's own embedding; they live inside the ONNX model (outputs ``cloud_score`` and
``clear_sky_score``, metadata ``gate`` and ``clear_sky``), so serving needs no extra file and no
scikit-learn.

    report = fit_gates("model.onnx", "recipe.toml", out_path="model.onnx")
    print(report.summary())
"""
from .data import GateData, clear_sky_parts, gate_data, image_files, not_sky_parts
from .fit import Gate, choose_threshold, fit_clear_gate, fit_gates, fit_sky_gate, verdicts
from .report import GateReport
from .samples import Embedded, GateSample, embed_samples

__all__ = ["Embedded", "Gate", "GateData", "GateReport", "GateSample", "choose_threshold", "clear_sky_parts",
           "embed_samples", "fit_clear_gate", "fit_gates", "fit_sky_gate", "gate_data", "image_files",
           "not_sky_parts", "verdicts"]
