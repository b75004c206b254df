"""cloudatlas evaluate: accuracy, precision, recall, F1, confusion matrix and top losses."""
from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = "Evaluate a model on labelled photos (default: the bundled model on the test split)."
EPILOG = """\
examples:
  cloudatlas evaluate --data ../shared/data/ccsn --split test
  cloudatlas evaluate --data ../shared/data/ccsn --json            one JSON object on stdout
  cloudatlas evaluate --model runs/mine/model.onnx --data DATA --out runs/mine/eval
                      (writes metrics.json, confusion_matrix.png, top_losses.png, predictions.csv)
  cloudatlas evaluate --recipe recipes/bundled.toml --part holdout --record
                      the recipe's held-out photos, with figures per source
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="ONNX model file (default: the bundled model)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--data", help="folder with one sub-folder of photos per label")
    what.add_argument("--recipe", metavar="TOML", help="a training recipe: evaluate on one of its parts (--part)")
    p.add_argument("--part", default="holdout", choices=["valid", "holdout", "train"],
                   help="with --recipe: which part (default: %(default)s, the photos kept aside)")
    p.add_argument("--split", default="test", choices=["test", "train", "all"],
                   help="which part of DATA/split.csv (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", help="folder for metrics.json, confusion_matrix.png, top_losses.png")
    p.add_argument("--record", action="store_true",
                   help="also store the figures in the model file's metadata (metrics.SPLIT)")


def run(args: argparse.Namespace) -> int:
    from ..data import DataError
    from ..evaluate import evaluate, format_report
    from ..inference import ModelError
    from . import CliError

    try:
        if args.recipe:
            from ..evaluate.evaluate import evaluate_recipe_part

            result = evaluate_recipe_part(args.model, args.recipe, args.part, out=args.out, progress=not args.json)
        else:
            result = evaluate(args.model, args.data, split=args.split, out=args.out, progress=not args.json)
    except (DataError, ModelError, FileNotFoundError) as err:
        raise CliError(str(err)) from None
    if args.record:
        _record(result)
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        print()
    else:
        print(f"{result.model} on {args.data or args.recipe} ({result.split}, {result.report.n} photos)\n")
        print(format_report(result.report))
        for source, r in (result.per_source or {}).items():
            print(f"  {source:<10} accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  ({r['n']} photos)")
        for problem in result.unreadable:
            print(f"unreadable: {problem}", file=sys.stderr)
        if args.out:
            print(f"\nwrote {args.out}/metrics.json, confusion_matrix.png, top_losses.png, predictions.csv")
    return 0


def _record(result) -> None:
    from ..metadata import read_metadata, update_metadata

    r = result.report
    metrics = read_metadata(result.model).get("metrics", {})
    metrics[result.split] = {"accuracy": r.accuracy, "macro_f1": r.macro_f1, "n": r.n,
                             "recall": {k: v["recall"] for k, v in r.per_class.items()},
                             **({"per_source": result.per_source} if result.per_source else {})}
    update_metadata(result.model, metrics=metrics)
