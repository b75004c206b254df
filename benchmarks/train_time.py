"""Train wall time of the bundled recipe: what the bundled model's own run took, or a fresh run.

    .venv/bin/python benchmarks/train_time.py            figures recorded in the bundled model
    .venv/bin/python benchmarks/train_time.py --rerun    retrain with the recipe (about 25 min on 2 cores)
"""
from __future__ import annotations

import argparse
import tempfile
import time

from _common import CCSN
from cloudatlas import Classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args()
    meta = Classifier.load().metadata["training"]
    print(f"bundled model: {meta['n_train']} train photos, best epoch {meta['best_epoch']}, "
          f"trained in {meta['seconds'] / 60:.1f} min (recorded)")
    if args.rerun:
        from cloudatlas.train import TrainConfig, train

        config = TrainConfig(**{**meta["config"], "data": str(CCSN)})
        with tempfile.TemporaryDirectory() as tmp:
            config.out = f"{tmp}/run"
            start = time.time()
            result = train(config)
            print(f"rerun: {(time.time() - start) / 60:.1f} min, valid accuracy {result.report.accuracy:.3f}")


if __name__ == "__main__":
    main()
