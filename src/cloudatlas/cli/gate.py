"""cloudatlas gate: calibrate the is-it-a-cloud gate of a model and write it into the file."""
from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = ("Fit the 'is it a cloud photo?' gate on the model's own embeddings: cloud photos from "
               "the train split of DATA against photos of other things and generated charts, "
               "screenshots, documents and drawings. The gate and its held-out figures are written "
               "into the ONNX file, so predict and serve report is_cloud without extra files.")
EPILOG = """\
examples:
  cloudatlas gate --model runs/mine/model.onnx --data data/ccsn --not-cloud data/not_cloud
  cloudatlas gate --model runs/bundled/model.onnx --recipe recipes/bundled.toml \
                  --clear-sky data/extra/clear_sky --not-cloud data/not_cloud      sky + clear-sky gates
  cloudatlas gate --model model.onnx --data data/ccsn --not-cloud data/not_cloud --out gated.onnx --json

Only DATA's train split fits and calibrates the gate; its test split and part of --not-cloud are
kept back to measure it. Embeddings take a few minutes on a CPU: --cache DIR keeps them for re-runs.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="ONNX model file to calibrate")
    clouds = p.add_mutually_exclusive_group(required=True)
    clouds.add_argument("--data", metavar="CLOUDS_DIR",
                        help="cloud photos, one folder per genus, with split.csv (e.g. data/ccsn)")
    clouds.add_argument("--recipe", metavar="TOML",
                        help="the model's training recipe: its train / valid / holdout cloud photos fit, "
                             "calibrate and measure the gates (with --clear-sky: the verdict)")
    p.add_argument("--clear-sky", metavar="DIR",
                   help="photos of skies without clouds: adds the clear-sky gate, so answers say "
                        "'clear_sky' instead of naming a genus (needs --recipe)")
    p.add_argument("--not-cloud", required=True, metavar="DIR", help="photos of anything but the sky")
    p.add_argument("--out", metavar="PATH", help="write the gated model here (default: into --model)")
    p.add_argument("--no-write", action="store_true", help="only measure; leave the model as it is")
    p.add_argument("--target-accept", type=float, default=0.97, metavar="P",
                   help="share of validation cloud photos the threshold lets through (default 0.97)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data split and synthetic images")
    p.add_argument("--synthetic", type=int, default=520, metavar="N", help="generated negatives to fit on")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use at most N images of each part: a quick trial, not a calibration")
    p.add_argument("--cache", metavar="DIR", help="keep embeddings here between runs")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", action="store_true", help="print a MODEL_CARD.md section")


def run(args: argparse.Namespace) -> int:
    from ..data import DataError
    from ..gate import GateAttachError, fit_gate
    from ..inference import ModelError
    from . import CliError

    if not 0.5 <= args.target_accept < 1:
        raise CliError("--target-accept must be between 0.5 and 1, e.g. 0.97.")
    out = None if args.no_write else (args.out or args.model)

    def progress(part: str, done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\rembedding {part} images: {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    if args.recipe:
        return _fit_verdict(args, out)
    if args.clear_sky:
        raise CliError("--clear-sky needs --recipe.")
    try:
        report = fit_gate(args.model, args.data, args.not_cloud, out_path=out, seed=args.seed,
                          target_accept=args.target_accept, n_synthetic=args.synthetic, max_per_set=args.limit,
                          cache_dir=args.cache, threads=args.threads, progress=progress)
    except (ModelError, DataError, FileNotFoundError, GateAttachError) as err:
        raise CliError(str(err)) from None
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    elif args.markdown:
        print(report.markdown())
    else:
        print(report.summary())
    return 0


def _fit_verdict(args: argparse.Namespace, out) -> int:
    from ..data import DataError
    from ..gate import GateAttachError
    from ..gate.verdict import fit_verdict
    from ..inference import ModelError
    from . import CliError

    if not args.clear_sky:
        raise CliError("--recipe fits the sky and clear-sky gates: pass --clear-sky DIR too.")
    try:
        report = fit_verdict(args.model, args.recipe, args.clear_sky, args.not_cloud, out_path=out,
                             seed=args.seed, target_accept=args.target_accept, cache_dir=args.cache)
    except (ModelError, DataError, FileNotFoundError, GateAttachError) as err:
        raise CliError(str(err)) from None
    if args.json:
        json.dump({"threshold": report.gate.threshold, "clear_sky_threshold": report.clear.threshold,
                   "counts": report.counts, "metrics": report.metrics}, sys.stdout, indent=2)
        print()
    else:
        print(report.summary())
    return 0
