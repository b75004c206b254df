"""Which images fit, calibrate and evaluate the gate, and which never touch it.

=========================  ==============================================================
fit                        CCSN ``train`` minus its validation part; ~60 % of not_cloud;
                           synthetic images of ``FIT_STYLES`` drawn with ``seed``
valid (threshold)          a group-aware 20 % of CCSN ``train`` (the threshold is set so
                           that the target share of these cloud photos passes)
held out (report)          CCSN ``test``; the other ~40 % of not_cloud; synthetic images
                           of *all* styles, held-out-only styles included, drawn with a
                           different seed
=========================  ==============================================================

CCSN test photos only ever measure the gate; they never choose anything.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ..data import load_split
from ..imageio import is_image_file
from .embeddings import GateSample
from .synthetic import ALL_STYLES, FIT_STYLES, synthetic_specs

NOT_CLOUD_FIT_FRACTION = 0.6
CLOUD_VALID_FRACTION = 0.2
HELDOUT_SEED_OFFSET = 1000  # held-out synthetic images are drawn with seed + this


@dataclass
class GateData:
    fit: list[GateSample] = field(default_factory=list)
    valid: list[GateSample] = field(default_factory=list)  # cloud photos that set the threshold
    heldout: list[GateSample] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for part in ("fit", "valid", "heldout"):
            samples = getattr(self, part)
            out[part] = {k: sum(s.kind == k for s in samples) for k in ("cloud", "photo", "synthetic")}
        return out


def _subsample(items: list, limit: int | None, seed: int) -> list:
    if limit is None or len(items) <= limit:
        return items
    picked = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in picked]


def not_cloud_files(not_cloud_dir: str | Path) -> list[Path]:
    root = Path(not_cloud_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_file(p))
    if not files:
        raise FileNotFoundError(f"{root}: no images found.")
    return files


def _clouds(samples) -> list[GateSample]:
    return [GateSample(f"cloud/{s.key}", "cloud", s.label, s.path) for s in samples]


def _photos(paths: list[Path], root: Path) -> list[GateSample]:
    return [GateSample(f"photo/{p.relative_to(root)}", "photo", "not_cloud", p) for p in sorted(paths)]


def _synthetic(specs) -> list[GateSample]:
    return [GateSample(s.key, "synthetic", s.style, s) for s in specs]


def gate_data(clouds_dir: str | Path, not_cloud_dir: str | Path, seed: int = 0,
              n_synthetic: int = 520, n_synthetic_heldout: int = 285,
              max_per_set: int | None = None) -> GateData:
    """Assemble the gate's parts (see the module docstring). ``max_per_set`` caps every set,
    for quick fits in tests and demos."""
    split = load_split(clouds_dir, "train", valid_frac=CLOUD_VALID_FRACTION, seed=seed)
    if max_per_set is not None:  # fewer synthetic images, still cycling through every style
        n_synthetic, n_synthetic_heldout = min(n_synthetic, max_per_set), min(n_synthetic_heldout, max_per_set)
    photos = not_cloud_files(not_cloud_dir)
    random.Random(seed).shuffle(photos)
    cut = round(NOT_CLOUD_FIT_FRACTION * len(photos))
    root = Path(not_cloud_dir)

    def cap(items: list, salt: int) -> list:
        return _subsample(items, max_per_set, seed + salt)

    return GateData(
        fit=(cap(_clouds(split.train), 1) + cap(_photos(photos[:cut], root), 2)
             + _synthetic(synthetic_specs(n_synthetic, seed, FIT_STYLES))),
        valid=cap(_clouds(split.valid), 3),
        heldout=(cap(_clouds(split.test), 4) + cap(_photos(photos[cut:], root), 5)
                 + _synthetic(synthetic_specs(n_synthetic_heldout, seed + HELDOUT_SEED_OFFSET, ALL_STYLES))),
    )
