"""Synthetic not-cloud images: charts, screenshots, documents, drawings, flat colours, noise.

Photos of other things (``not_cloud``) teach the gate half of "not a sky photo"; the other half
is images that are not photos at all. They are generated here, deterministically: image ``i`` of
``seed`` is the same on every machine and every run, at a size drawn for it (200-1600 px wide,
portrait to panorama), sometimes saved as JPEG the way screenshots get shared.

``FIT_STYLES`` may be used to fit the gate; ``HELDOUT_STYLES`` (box plots, dashboards,
spreadsheets, code, chats, patterns) are only ever used to evaluate it, to measure how the gate
does on kinds of non-photo it has never seen.

    >>> imgs = synthetic_negatives(8, seed=0)              # one of each of the first 8 styles
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import art, charts, pages  # noqa: F401  (importing them registers their styles)
from .common import STYLES, Style, register_style

GENERATOR_VERSION = 1  # bump when a renderer changes, so cached embeddings are not reused

FIT_STYLES: tuple[str, ...] = tuple(name for name, s in STYLES.items() if not s.heldout)
HELDOUT_STYLES: tuple[str, ...] = tuple(name for name, s in STYLES.items() if s.heldout)
ALL_STYLES: tuple[str, ...] = FIT_STYLES + HELDOUT_STYLES


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines one synthetic image."""

    style: str
    seed: int
    index: int
    width: int
    height: int
    jpeg_quality: int = 0  # 0: kept lossless

    @property
    def key(self) -> str:
        return f"synthetic/v{GENERATOR_VERSION}/{self.style}/{self.seed}/{self.index}"

    @property
    def family(self) -> str:
        return STYLES[self.style].family

    def render(self) -> Image.Image:
        return render_negative(self)


def synthetic_specs(n: int, seed: int = 0, styles: tuple[str, ...] | list[str] | None = None
                    ) -> list[SyntheticSpec]:
    """``n`` specs cycling through ``styles`` (default: ``FIT_STYLES``) with drawn sizes."""
    styles = tuple(styles or FIT_STYLES)
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        raise ValueError(f"Unknown synthetic styles {unknown}; known: {', '.join(STYLES)}.")
    specs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 0])
        width = int(rng.integers(200, 1601))
        aspect = float(np.exp(rng.uniform(np.log(0.45), np.log(2.2))))  # width / height
        height = int(np.clip(width / aspect, 160, 1800))
        quality = int(rng.integers(55, 96)) if rng.random() < 0.3 else 0
        specs.append(SyntheticSpec(styles[i % len(styles)], seed, i, width, height, quality))
    return specs


def render_negative(spec: SyntheticSpec) -> Image.Image:
    """Draw one image; the same spec always gives the same pixels."""
    rng = np.random.default_rng([spec.seed, spec.index, 1])
    img = STYLES[spec.style].render(rng, spec.width, spec.height).convert("RGB")
    if spec.jpeg_quality:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=spec.jpeg_quality)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


def synthetic_negatives(n: int, seed: int = 0, styles: tuple[str, ...] | list[str] | None = None
                        ) -> list[Image.Image]:
    return [render_negative(spec) for spec in synthetic_specs(n, seed, styles)]


__all__ = ["ALL_STYLES", "FIT_STYLES", "GENERATOR_VERSION", "HELDOUT_STYLES", "STYLES", "Style",
           "SyntheticSpec", "register_style", "render_negative", "synthetic_negatives", "synthetic_specs"]
