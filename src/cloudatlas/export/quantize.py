"""int8 quantisation (ONNX Runtime static QDQ), kept only when accuracy holds."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class QuantizeResult:
    path: Path | None          # None when the int8 model was discarded
    fp32_accuracy: float
    int8_accuracy: float
    fp32_mb: float
    int8_mb: float
    kept: bool
    reason: str


class _PhotoReader:
    """Feeds calibration photos to ONNX Runtime's quantiser, one at a time."""

    def __init__(self, clf, paths: list[Path]):
        self.clf, self.paths = clf, iter(paths)

    def get_next(self):
        from ..imageio import ImageLoadError

        for path in self.paths:
            try:
                return {self.clf.input_name: self.clf.preprocess(path)[None]}
            except ImageLoadError:
                continue
        return None


def quantize_int8(model_path: str | Path, data_dir: str | Path, out_path: str | Path | None = None,
                  n_calibration: int = 128, max_drop: float = 0.01, seed: int = 0) -> QuantizeResult:
    """Quantise with calibration photos from the train split; evaluate both on the test split.

    The int8 file is kept only if its test accuracy is less than ``max_drop`` below fp32's.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..evaluate import evaluate, select_samples
    from ..inference import Classifier
    from .onnx_export import read_metadata, update_metadata

    model_path = Path(model_path)
    out_path = Path(out_path) if out_path else model_path.with_name(model_path.stem + ".int8.onnx")
    clf = Classifier.load(model_path)
    calib = [s.path for s in select_samples(data_dir, "train")]
    random.Random(seed).shuffle(calib)
    prepared = out_path.with_suffix(".pre.onnx")
    quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(out_path), _PhotoReader(clf, calib[:n_calibration]),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.Percentile,
                    extra_options={"CalibPercentile": 99.99})
    prepared.unlink(missing_ok=True)
    meta = read_metadata(model_path)
    update_metadata(out_path, **{**meta, "quantization": "int8 static QDQ, per-channel"})

    fp32 = evaluate(clf, data_dir, "test", progress=False).report.accuracy
    int8 = evaluate(Classifier.load(out_path), data_dir, "test", progress=False).report.accuracy
    sizes = model_path.stat().st_size / 1e6, out_path.stat().st_size / 1e6
    kept = fp32 - int8 < max_drop
    reason = (f"test accuracy {fp32:.3f} -> {int8:.3f} "
              f"({'kept' if kept else 'discarded'}: the limit is a drop under {max_drop * 100:.0f} point)")
    if not kept:
        out_path.unlink()
    return QuantizeResult(out_path if kept else None, fp32, int8, sizes[0], sizes[1], kept, reason)
