"""How long the data tools take on CCSN (2543 photos): audit and label-issue search.

    .venv/bin/python benchmarks/data_tools.py [--model PATH] [--skip-issues]

Each is timed cold (empty cache: every photo read, hashed or embedded) and warm (cache hit).
Caches go to a temporary folder, so nothing is written into the shared data.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from _common import CCSN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="ONNX model for the issues search (default: the bundled model)")
    ap.add_argument("--skip-issues", action="store_true", help="time the audit only")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads for embedding")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        os.environ["CLOUDATLAS_CACHE_DIR"] = cache
        from cloudatlas.data.audit import audit

        for run in ("cold", "warm"):
            started = time.perf_counter()
            report = audit(CCSN, progress=False)
            seconds = time.perf_counter() - started
            print(f"audit {run}: {seconds:6.2f} s  ({report.n_images} photos, {len(report.duplicates)} exact-duplicate "
                  f"groups / {report.n_redundant_copies} redundant files, {report.n_near_duplicate_pairs} "
                  f"near-duplicate pairs in {len(report.near_duplicates)} groups, {len(report.conflicts)} conflicts)")

        if args.skip_issues:
            return
        from cloudatlas.data.label_issues import find_label_issues
        from cloudatlas.inference import Classifier, ModelError

        try:
            clf = Classifier.load(args.model, threads=args.threads)
        except ModelError as err:
            print(f"issues: skipped ({err})")
            return
        for run in ("cold", "warm"):
            started = time.perf_counter()
            issues = find_label_issues(CCSN, classifier=clf, progress=False)
            seconds = time.perf_counter() - started
            print(f"issues {run}: {seconds:6.2f} s  ({clf.name}: {issues.n_images} photos, {issues.folds}-fold "
                  f"out-of-fold accuracy {issues.cv_accuracy:.3f}, {len(issues.issues)} flagged)")


if __name__ == "__main__":
    main()
