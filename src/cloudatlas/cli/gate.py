"""cloudatlas gate: fit the sky and clear-sky gates of a model and write them into the file."""
from __future__ import annotations

import argparse
import json
import sys

from .options import add_config_options, overrides

DESCRIPTION = """\
Fit the gates on the model's own embeddings: the sky gate (a sky photo at all? sky photos from the
recipe or folder, and clear skies, against photos of other things and generated charts,
screenshots, documents and drawings) and, with --clear-sky, the clear-sky gate (a clear sky,
or clouds to name?). Both and their held-out figures are written into the ONNX file, so every
answer gets its verdict (cloud, clear_sky or not_sky) without extra files. `cloudatlas train`
does this itself when the recipe has a [gate] table.

--out is a model file (default: --model itself)."""
EPILOG = """\
examples:
  cloudatlas gate --model runs/mine/model.onnx --data data/ccsn --not-cloud data/not_cloud
  cloudatlas gate --model runs/bundled/model.onnx --recipe recipes/bundled.toml      the recipe's [gate]
  cloudatlas gate --model m.onnx --recipe recipes/bundled.toml --clear-sky data/extra/clear_sky \\
                  --not-cloud data/not_cloud --out gated.onnx --json

Only the training photos fit and the validation photos calibrate the gates; the holdout,
validation-only and test photos, and part of the other images, are kept back to measure them.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="PATH", help="ONNX model file to fit the gates of")
    clouds = p.add_mutually_exclusive_group(required=True)
    clouds.add_argument("--data", metavar="DIR", help="cloud photos, one folder per genus (e.g. data/ccsn)")
    clouds.add_argument("--recipe", metavar="TOML", help="the model's recipe: its parts fit, calibrate and measure")
    p.add_argument("--out", metavar="PATH", help="write the gated model here (default: into --model)")
    p.add_argument("--no-write", action="store_true", help="only measure; leave the model as it is")
    add_config_options(p, "gate", "the gates (override the recipe's [gate])", rename={"seed": "seed", "limit": "limit"})
    p.add_argument("--cache", metavar="DIR", help="keep embeddings here (default: the user cache)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", action="store_true", help="print a MODEL_CARD.md section")


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..config import Recipe
    from ..gate import fit_gates
    from . import CliError

    changes = overrides(args)
    target = changes.get("gate.target_accept")
    if target is not None and not 0.5 <= target < 1:
        raise CliError("--target-accept must be between 0.5 and 1, e.g. 0.985.")
    recipe = Recipe.from_folder(args.data) if args.data else Recipe.load(args.recipe)
    recipe.override(**changes)
    if recipe.gate is None:
        raise CliError("name the photos of other things to fit on: --not-cloud DIR (and --clear-sky DIR).")

    bars: dict = {}

    def progress(part: str, done: int, total: int) -> None:
        # One bar per part (fit, valid, held out). tqdm also logs sparsely when stderr is a file, so
        # a 20-minute first run in CI or under nohup is never silent; --json keeps it quiet, as
        # `cloudatlas evaluate --json` does.
        if part not in bars:
            bars[part] = tqdm(total=total, desc=f"embedding {part} images", unit="img", file=sys.stderr,
                              mininterval=5, disable=args.json)
        bar = bars[part]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    out = None if args.no_write else (args.out or args.model)
    report = fit_gates(args.model, recipe, out_path=out, cache_dir=args.cache, threads=args.threads,
                       progress=progress)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    elif args.markdown:
        print(report.markdown())
    else:
        print(report.summary())
    return 0
