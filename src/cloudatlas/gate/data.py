"""Which images fit, calibrate and measure the gates, and which never touch them.

One builder for a recipe and for a folder (a folder is its one-source recipe):

=========  ===========================================================================
fit        the recipe's training cloud photos (and coarsely labelled ones); ~50 % of the
           clear skies; ~60 % of the not-sky photos; generated charts, screens, documents
           and drawings of the fit styles
valid      the recipe's validation cloud photos and ~20 % of the clear skies: they set the
           thresholds
held out   the holdout, validation-only and benchmark-test cloud photos; the other clear
           skies and not-sky photos; generated images of every style, styles never fitted
           on included, drawn with another seed
=========  ===========================================================================

Benchmark test photos and validation-only photos only ever measure the gates.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import GateConfig
from ..data.assemble import AssembledData, SourcedSample
from ..data.synthetic import ALL_STYLES, FIT_STYLES, synthetic_specs
from ..errors import DataError
from ..imageio import is_image_file
from .samples import GateSample

CLEAR_FIT, CLEAR_VALID = 0.5, 0.2
NOT_SKY_FIT = 0.6
HELDOUT_SEED_OFFSET = 1000  # held-out synthetic images are drawn with seed + this


@dataclass
class GateData:
    fit: list[GateSample] = field(default_factory=list)
    valid: list[GateSample] = field(default_factory=list)
    heldout: list[GateSample] = field(default_factory=list)

    def parts(self) -> dict[str, list[GateSample]]:
        return {"fit": self.fit, "valid": self.valid, "heldout": self.heldout}


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every image under ``folder`` (any depth), sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_file(p))
    if not files:
        raise DataError(f"{root}: no images found.")
    return files


def _split(items: list, fractions: tuple[float, ...], seed: int) -> list[list]:
    items = list(items)
    random.Random(seed).shuffle(items)
    cuts = np.cumsum([round(f * len(items)) for f in fractions])
    return [items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)])]


def clear_sky_parts(clear_sky_dir: str | os.PathLike, seed: int = 0) -> tuple[list, list, list]:
    """Clear-sky photos that fit, calibrate and measure the clear-sky gate (fit, valid, held out)."""
    return tuple(_split(image_files(clear_sky_dir), (CLEAR_FIT, CLEAR_VALID), seed))


def not_sky_parts(not_sky_dir: str | os.PathLike, seed: int = 0) -> tuple[list, list]:
    """Photos of other things that fit the sky gate, and those kept back to measure it."""
    return tuple(_split(image_files(not_sky_dir), (NOT_SKY_FIT,), seed + 1))


def _cap(items: list, limit: int | None, seed: int) -> list:
    if limit is None or len(items) <= limit:
        return items
    picked = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in picked]


def clouds(samples: list[SourcedSample]) -> list[GateSample]:
    return [GateSample(f"cloud/{s.id}", "cloud", s.source, s.path, s.group) for s in samples]


def gate_data(data: AssembledData, config: GateConfig, resolve=Path) -> GateData:
    """The gates' images for an assembled recipe (see the module docstring); ``resolve`` turns
    the config's folders into paths (a recipe's ``resolve``)."""
    seed, limit = config.seed, config.limit
    n_fit, n_held = config.synthetic, config.synthetic_heldout
    if limit is not None:  # fewer synthetic images, still cycling through every style
        n_fit, n_held = min(n_fit, limit), min(n_held, limit)
    coarse = [s for s in data.transfer if s.allowed]
    photos = lambda paths: [GateSample(f"photo/{p.name}", "photo", "not_sky", p) for p in paths]
    photo_fit, photo_held = map(photos, not_sky_parts(resolve(config.not_sky), seed))
    clear_fit = clear_valid = clear_held = []
    if config.clear_sky:
        clear = lambda paths: [GateSample(f"clear/{p.name}", "clear_sky", "clear_sky", p) for p in paths]
        clear_fit, clear_valid, clear_held = map(clear, clear_sky_parts(resolve(config.clear_sky), seed))
    synth = lambda specs: [GateSample(s.key, "synthetic", s.style, s) for s in specs]
    cap = lambda items, salt: _cap(items, limit, seed + salt)
    return GateData(
        fit=(cap(clouds(data.train + coarse), 1) + cap(clear_fit, 2) + cap(photo_fit, 3)
             + synth(synthetic_specs(n_fit, seed, FIT_STYLES))),
        valid=cap(clouds(data.valid), 4) + cap(clear_valid, 5),
        heldout=(cap(clouds(data.holdout + data.external + data.test), 6) + cap(clear_held, 7)
                 + cap(photo_held, 8) + synth(synthetic_specs(n_held, seed + HELDOUT_SEED_OFFSET, ALL_STYLES))))
