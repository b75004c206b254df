"""Predict latency, end to end from a file on disk to probabilities, and batch throughput.

    .venv/bin/python benchmarks/latency.py [--model PATH] [--runs 50]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import CCSN, phone_photo, timed
from cloudatlas import Classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model")
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    clf = Classifier.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        big = phone_photo(Path(tmp) / "phone-12mp.jpg")
        small = sorted((CCSN / "Sc").glob("*.jpg"))[0]  # a 400x400 CCSN JPEG
        print(f"model: {clf.path.name} ({clf.metadata['arch']}, {clf.img_size}px)")
        for name, path in (("12-MP JPEG (4032x3024)", big), ("400x400 JPEG", small)):
            stats = timed(lambda: clf.predict(path), args.runs)
            print(f"predict {name:<24} median {stats['median_ms']:6.1f} ms   p95 {stats['p95_ms']:6.1f} ms"
                  f"   ({stats['runs']} runs)")
        pixels = np.stack([clf.preprocess(small)] * 32)
        stats = timed(lambda: clf.predict_pixels(pixels[:1]), args.runs)
        print(f"model only, batch 1               median {stats['median_ms']:6.1f} ms")
        photos = sorted(CCSN.glob("*/*.jpg"))[:256]
        for batch in (1, 32):
            start = time.perf_counter()
            clf.predict_batch(photos, batch_size=batch)
            rate = len(photos) / (time.perf_counter() - start)
            print(f"throughput, files -> probabilities, {batch:>2} per network call: {rate:.0f} photos/s")


if __name__ == "__main__":
    main()
