"""cloudatlas evaluate: accuracy, top-3, levels, calibration, confusion matrix and top losses."""
from __future__ import annotations

import argparse
import json
import sys

from .options import deprecated

DESCRIPTION = """\
Evaluate a model (default: the bundled one) on labelled photos: a folder's test part (--data DIR),
or the parts of a recipe (--recipe TOML): its validation-only sources (e.g. expert_dev) first,
then its holdout, validation and test parts. Each part gets top-1 and top-3 accuracy, level
accuracy (high / middle / low), macro-F1, per-genus recall, expected calibration error,
precision of the most confident answers at 25/50/75 % coverage, and the share of each verdict.

--out is a report folder: metrics.json, confusion_matrix.png, reliability.png, top_losses.png and
predictions.csv (for one part)."""
EPILOG = """\
examples:
  cloudatlas evaluate --data ../shared/data/ccsn                   the test part of split.csv
  cloudatlas evaluate --data ../shared/data/ccsn --json            one JSON object on stdout
  cloudatlas evaluate --recipe recipes/bundled.toml                every evaluation part of the recipe
  cloudatlas evaluate --recipe recipes/bundled.toml --part expert_dev --out runs/x/eval-expert
  cloudatlas evaluate --model runs/mine/model.onnx --data DATA --out runs/mine/eval --record
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="PATH", help="ONNX model file (default: the bundled model)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--data", metavar="DIR", help="a folder with one sub-folder of photos per label")
    what.add_argument("--recipe", metavar="TOML", help="a recipe: evaluate on its parts")
    p.add_argument("--part", metavar="PART",
                   help="with --data: test (default), train or all; with --recipe: valid, holdout, external, test "
                        "or a validation-only source's name (default: every evaluation part)")
    deprecated(p, "--split", dest="part", new="--part")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--out", metavar="DIR", help="a report folder for one part (metrics, plots, predictions)")
    p.add_argument("--record", action="store_true",
                   help="also store the figures in the model file's metadata (metrics.PART)")


def _line(name: str, r) -> str:
    p = r.probability
    verdicts = "  ".join(f"{k} {v:.1%}" for k, v in r.verdicts.items())
    if r.report.n == 0:  # e.g. photos labelled only to a group of genera: no genus figures to print
        return f"{name:<12} n=0    (no photo labelled to one genus)  {verdicts}"
    level = f"  level {p['level']:.3f}" if "level" in p else ""
    return (f"{name:<12} n={r.report.n:<4} top-1 {r.report.accuracy:.3f}  top-3 {p.get('top3', 0):.3f}{level}  "
            f"macro-F1 {r.report.macro_f1:.3f}  ECE {p.get('ece', 0):.3f}  " + verdicts)


def run(args: argparse.Namespace) -> int:
    from . import CliError
    from ..evaluate import evaluate, evaluate_parts, format_report

    if args.recipe and not args.part:
        if args.out:
            raise CliError("--out writes the report of one part: add --part (e.g. --part expert_dev).")
        results = evaluate_parts(args.model, args.recipe, progress=not args.json)
    else:
        part = args.part or "test"
        result = evaluate(args.model, args.data or args.recipe, part, out=args.out, progress=not args.json)
        results = {result.part: result}
    if args.record:
        _record(results)
    if args.json:
        payload = {name: r.to_dict() for name, r in results.items()}
        json.dump(payload if len(payload) > 1 else next(iter(payload.values())), sys.stdout)
        print()
        return 0
    model = next(iter(results.values())).model
    print(f"{model} on {args.data or args.recipe}\n")
    for name, r in results.items():
        print(_line(name, r))
        for source, s in (r.per_source if len(r.per_source) > 1 else {}).items():
            print(f"  {source:<10} accuracy {s['accuracy']:.3f}  macro-F1 {s['macro_f1']:.3f}  ({s['n']} photos)")
        if r.coarse:
            print(f"  coarse groups (photos labelled to a group of genera, {r.coarse['n']}): "
                  f"{r.coarse['coarse_accuracy']:.3f}")
        for problem in r.unreadable:
            print(f"unreadable: {problem}", file=sys.stderr)
    if len(results) == 1:
        r = next(iter(results.values()))
        print()
        print(format_report(r.report))
        cov = r.probability.get("precision_at_coverage", {})
        if cov:
            print("precision of the most confident answers: "
                  + ", ".join(f"{float(k):.0%} answered {v:.3f}" for k, v in cov.items()))
    if args.out:
        print(f"\nwrote {args.out}/metrics.json, confusion_matrix.png, reliability.png, top_losses.png, "
              f"predictions.csv")
    return 0


def _record(results: dict) -> None:
    from ..metadata import read_metadata, update_metadata

    model = next(iter(results.values())).model
    metrics = read_metadata(model).get("metrics", {})
    for name, r in results.items():
        p = {k: v for k, v in r.probability.items() if k != "reliability"}
        metrics[name] = {**r.report.brief(), "recall": {k: v["recall"] for k, v in r.report.per_class.items()},
                         "probability": p, "verdicts": r.verdicts,
                         **({"per_source": r.per_source} if len(r.per_source) > 1 else {}),
                         **({"coarse": r.coarse} if r.coarse else {})}
    update_metadata(model, metrics=metrics)
