"""Helpers shared by the benchmarks: timing statistics and realistic test photos."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CLOUDATLAS_SHARED_DATA", ROOT.parent / "shared" / "data"))
CCSN = SHARED_DATA / "ccsn"


def timed(fn, runs: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[int(0.95 * (len(samples) - 1))],
            "runs": runs}


def phone_photo(path: Path, size=(4032, 3024), seed: int = 0) -> Path:
    """A 12-MP JPEG with photo-like entropy: a CCSN sky upscaled, plus sensor-like noise."""
    sky = Image.open(sorted((CCSN / "Cu").glob("*.jpg"))[0]).convert("RGB").resize(size, Image.BICUBIC)
    noise = np.random.default_rng(seed).normal(0, 6, (size[1], size[0], 3))
    arr = np.clip(np.asarray(sky, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=92)
    return path
