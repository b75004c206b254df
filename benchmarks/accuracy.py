"""Accuracy of a model (default: the bundled one) on the CCSN benchmark test split.

    .venv/bin/python benchmarks/accuracy.py [--model PATH]
"""
from __future__ import annotations

import argparse

from _common import CCSN
from cloudatlas.evaluate import evaluate, format_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model")
    ap.add_argument("--part", default="test", help="test, train or all")
    args = ap.parse_args()
    result = evaluate(args.model, CCSN, args.part, progress=False)
    r = result.report
    print(f"{result.model}: CCSN {args.part} ({r.n} photos) accuracy {r.accuracy:.3f}  macro-F1 {r.macro_f1:.3f}"
          f"  ({result.seconds:.1f} s)")
    print(format_report(r))


if __name__ == "__main__":
    main()
