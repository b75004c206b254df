"""Build time of the bundled model: what its own build recorded, or a fresh build from the recipe.

    .venv/bin/python benchmarks/train_time.py            figures recorded in the bundled model
    .venv/bin/python benchmarks/train_time.py --rerun    rebuild teacher, student and gates from the recipe
                                                         (about an hour on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cloudatlas import Classifier

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args()
    meta = Classifier.load().metadata
    training = meta["training"]
    print(f"bundled model: recipe {meta.get('recipe', {}).get('file')}, sources {training.get('sources')}, "
          f"best epoch {training['best_epoch']}, teacher + student trained in {training['seconds'] / 60:.1f} min "
          f"(recorded)")
    if args.rerun:
        from cloudatlas.train import train

        with tempfile.TemporaryDirectory() as tmp:
            start = time.time()
            train(ROOT / "recipes" / "bundled.toml", out=Path(tmp) / "run")
            print(f"rebuilt teacher, student and gates in {(time.time() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
