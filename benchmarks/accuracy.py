"""Accuracy of a model (default: the bundled one), the expert photos first.

    .venv/bin/python benchmarks/accuracy.py [--model PATH] [--only-ccsn]

Prints, in the order they matter: the expert-labelled atlas photos (``expert_dev``, validation
only: top-1, top-3, level, calibration error), GCD's held-out quarter (meteorologists' labels to
a group of genera: how often the top genus is of the group, and the verdicts), then CCSN's test
split (the benchmark: accuracy, macro-F1, per-genus report). The first two come from the
bundled recipe's parts (recipes/bundled.toml), the same as ``cloudatlas evaluate --recipe``.
"""
from __future__ import annotations

import argparse

from _common import CCSN, ROOT
from cloudatlas.evaluate import evaluate, format_report

RECIPE = ROOT / "recipes" / "bundled.toml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--only-ccsn", action="store_true", help="only the CCSN test split")
    args = ap.parse_args()
    if not args.only_ccsn:
        expert = evaluate(args.model, RECIPE, "expert_dev", progress=False)
        p = expert.probability
        recall = "  ".join(f"{k} {v:.2f}" for k, v in p["recall"].items())
        print(f"expert_dev ({p['n']} photos): top-1 {p['top1']:.3f}  top-3 {p['top3']:.3f}  level {p['level']:.3f}"
              f"  ECE {p['ece']:.3f}  mean confidence {p['mean_confidence']:.3f}")
        print(f"  recall per genus: {recall}")
        gcd = evaluate(args.model, RECIPE, "holdout", progress=False)
        verdicts = "  ".join(f"{k} {v:.1%}" for k, v in gcd.verdicts.items())
        print(f"GCD holdout ({gcd.coarse['n']} photos): top genus in the labelled group {gcd.coarse['top_in_group']:.3f}"
              f"   verdicts: {verdicts}")
    result = evaluate(args.model, CCSN, "test", progress=False)
    r = result.report
    print(f"CCSN test ({r.n} photos): accuracy {r.accuracy:.3f}  macro-F1 {r.macro_f1:.3f}  ({result.seconds:.1f} s)")
    print(format_report(r))


if __name__ == "__main__":
    main()
