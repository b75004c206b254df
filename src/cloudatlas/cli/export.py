"""cloudatlas export: inspect a model's metadata, or make an int8 copy that keeps its accuracy."""
from __future__ import annotations

import argparse
import json

DESCRIPTION = """\
Every training run already exports model.onnx (no pickle: loading it runs no code). This verb
shows what a model file says about itself, and makes an int8-quantised copy that is kept only
if its accuracy drops by less than one point on validation photos of the train split (the run's
own validation photos when the model sits in a run folder); the test split is never read."""
EPILOG = """\
examples:
  cloudatlas export --model runs/mine/model.onnx                     print its metadata
  cloudatlas export --model runs/mine/model.onnx --int8 --data ../shared/data/ccsn
  cloudatlas export --ensemble runs/seed0 runs/seed1 --out runs/ensemble.onnx
                    one file from runs with different --seed or --arch: runs of one backbone
                    share their frozen blocks, every member's probabilities count once
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="ONNX model file (default: the bundled model)")
    p.add_argument("--int8", action="store_true", help="write MODEL.int8.onnx (static int8, per-channel)")
    p.add_argument("--data", metavar="DIR", help="labelled photos with a split: its train split calibrates and checks "
                                  "(the test split is left alone)")
    p.add_argument("--out", metavar="PATH", help="a model file: the int8 or ensemble model (default for --int8: "
                                                 "MODEL.int8.onnx beside the model)")
    p.add_argument("--calibration", type=int, default=128, help="calibration photos (default: %(default)s)")
    p.add_argument("--ensemble", nargs="+", metavar="RUN", help="run folders to combine into one model (--out)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="with --ensemble: store weights as float16 (half the file; still computed in float32)")
    p.add_argument("--flip-tta", action="store_true",
                   help="with --ensemble: also average each photo with its mirror image (2x compute)")
    p.add_argument("--calibrate", action="store_true",
                   help="fit the temperature and the confidence words' thresholds on the parts named by the "
                        "recipe's [calibration] (needs --recipe) and write them into --model (or --out)")
    p.add_argument("--recipe", metavar="TOML", help="with --calibrate: the model's recipe")
    p.add_argument("--img-size", type=int,
                   help="with --ensemble: input size of every member (default: the largest trained size)")


def run(args: argparse.Namespace) -> int:
    from ..inference import bundled_model_path
    from ..metadata import read_metadata
    from . import CliError

    if args.ensemble:
        try:
            from ..export import export_ensemble
        except ImportError:
            raise CliError("--ensemble needs the training extras: pip install 'cloudatlas[train]'") from None
        if not args.out:
            raise CliError("--ensemble needs --out PATH for the combined model.")
        path = export_ensemble(args.ensemble, args.out, flip_tta=args.flip_tta, fp16_weights=args.fp16_weights,
                               img_size=args.img_size)
        valid = read_metadata(path)["metrics"]["valid"]
        print(f"wrote {path}: {len(args.ensemble)} members, valid accuracy {valid['accuracy']:.3f}, "
              f"macro-F1 {valid['macro_f1']:.3f}")
        return 0
    model = args.model or str(bundled_model_path())
    meta = read_metadata(model)
    if args.calibrate:
        from ..export.calibrate import calibrate

        if not args.recipe:
            raise CliError("--calibrate needs --recipe (its [calibration] parts are the calibration photos).")
        c = calibrate(model, args.recipe, out_path=args.out or model)
        print(f"temperature {c.temperature}, prior power {c.prior_power}, on {c.fitted_on}: top-1 "
              f"{c.before['top1']:.3f} -> {c.after['top1']:.3f}, ECE {c.before['ece']:.3f} -> {c.after['ece']:.3f} "
              f"(cross-fitted {c.cross_fitted['ece']:.3f}); thresholds {c.thresholds}")
        return 0
    if not args.int8:
        print(json.dumps(meta, indent=2))
        return 0
    if not args.data:
        raise CliError("--int8 needs --data (labelled photos: its train split calibrates and checks).")
    from ..export.quantize import quantize_int8

    result = quantize_int8(model, args.data, args.out, n_calibration=args.calibration)
    print(f"int8: {result.reason}; {result.fp32_mb:.1f} MB -> {result.int8_mb:.1f} MB")
    if result.kept:
        print(f"wrote {result.path}")
    return 0
