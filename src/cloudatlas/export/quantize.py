"""int8 quantisation (ONNX Runtime static QDQ), kept only when validation accuracy holds.

Keeping or dropping the int8 file is a model choice, so it is made on a validation part carved
from the training photos, never on the test split: the test split must stay untouched until the
final evaluation, or its figures stop being an unbiased estimate.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path



@dataclass
class QuantizeResult:
    path: Path | None          # None when the int8 model was discarded
    fp32_accuracy: float       # both on the validation part below
    int8_accuracy: float
    fp32_mb: float
    int8_mb: float
    kept: bool
    reason: str
    checked_on: str = ""       # which validation part decided, in words
    n_checked: int = 0         # readable photos of it


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
    """Quantise with calibration photos from the train split; decide on its validation part.

    The int8 file is kept only if its validation accuracy is less than ``max_drop`` below
    fp32's. No photo of the test split is read.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..evaluate import evaluate_samples
    from ..inference import Classifier
    from ..metadata import read_metadata, update_metadata

    model_path = Path(model_path)
    out_path = Path(out_path) if out_path else model_path.with_name(model_path.stem + ".int8.onnx")
    meta = read_metadata(model_path)
    calib, valid, checked_on = validation_part(model_path, data_dir, meta)
    calib = [s.path for s in calib]
    random.Random(seed).shuffle(calib)
    clf = Classifier.load(model_path)
    prepared = out_path.with_suffix(".pre.onnx")
    quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(out_path), _PhotoReader(clf, calib[:n_calibration]),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.Percentile,
                    extra_options={"CalibPercentile": 99.99})
    prepared.unlink(missing_ok=True)
    update_metadata(out_path, **{**meta, "quantization": "int8 static QDQ, per-channel"})

    fp32 = evaluate_samples(clf, valid, "valid", progress=False).report
    int8 = evaluate_samples(Classifier.load(out_path), valid, "valid", progress=False).report.accuracy
    sizes = model_path.stat().st_size / 1e6, out_path.stat().st_size / 1e6
    kept = fp32.accuracy - int8 < max_drop
    reason = (f"validation accuracy {fp32.accuracy:.3f} -> {int8:.3f} on {fp32.n} photos ({checked_on}; "
              f"{'kept' if kept else 'discarded'}: the limit is a drop under {max_drop * 100:.0f} point)")
    if not kept:
        out_path.unlink()
    return QuantizeResult(out_path if kept else None, fp32.accuracy, int8, sizes[0], sizes[1], kept, reason,
                          checked_on, fp32.n)


def validation_part(model_path: Path, data_dir: str | Path, meta: dict) -> tuple[list, list, str]:
    """(calibration photos, validation photos, where the validation photos come from).

    Both come from the train part of ``data_dir`` and never overlap, so the photos that set the
    int8 ranges do not also judge them. A run folder's own validation photos (``data.json``) are
    preferred: the model never trained on them. Otherwise the part is carved the way training
    carves it, with the split settings the model file records (defaults when it records none).
    """
    from ..config import Recipe
    from ..data.assemble import assemble

    recorded = ((meta.get("training") or {}).get("config") or {}).get("data") or {}
    recipe = Recipe.from_folder(data_dir)
    recipe.data.valid_frac = float(recorded.get("valid_frac") or 0.15)  # an unvalidated run still needs one here
    recipe.data.split_seed = int(recorded.get("split_seed", 0))
    recipe.data.conflicts = recorded.get("conflicts", "drop")
    data = assemble(recipe)
    train_part = data.train + data.valid  # the test part (data.test) is never used below
    run_paths = _run_valid_paths(model_path, data_dir)
    run_valid = [s for s in train_part if str(s.path.resolve()) in run_paths]
    if run_valid:
        valid, checked_on = run_valid, f"the run's validation photos, {model_path.parent / 'data.json'}"
    else:
        valid, checked_on = data.valid, "a validation part carved from the train split"
    held = {s.path for s in valid}
    return [s for s in train_part if s.path not in held], valid, checked_on


def _run_valid_paths(model_path: Path, data_dir: str | Path) -> set[str]:
    """The validation photos of the run folder holding ``model_path``, when it trained on ``data_dir``."""
    record = model_path.parent / "data.json"
    try:
        data = json.loads(record.read_text())
        root = Path(data_dir).resolve()
        paths = {str(Path(p).resolve()) for p, _ in data["parts"]["valid"]}
        return paths if all(Path(p).is_relative_to(root) for p in paths) else set()
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # no run folder, or another data set: carve a validation part instead
