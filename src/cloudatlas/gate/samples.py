"""The gates' images (cloud photos, clear skies, other photos, generated non-photos) and their
embeddings.

Embedding goes through the one pipeline (``cloudatlas.embeddings``), with its cache: re-fitting
the gates (another seed, another C) costs seconds, and a changed model, photo or synthetic
generator never reuses a stale vector.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.synthetic import SyntheticSpec
from ..embeddings import EmbedItem, EmbeddingCache, embed, file_stamp
from ..imageio import ImageSource

KINDS = ("cloud", "clear_sky", "photo", "synthetic")  # skies with and without cloud, other photos, non-photos


@dataclass(frozen=True)
class GateSample:
    """One image of the gates' data: where it comes from and what it is."""

    key: str
    kind: str  # one of KINDS
    group: str  # what reports count by: the source for clouds, the style for synthetic images
    source: Path | SyntheticSpec
    cluster: str = ""  # its near-duplicate group: folds keep a group on one side

    @property
    def is_sky(self) -> bool:
        return self.kind in ("cloud", "clear_sky")

    def load(self) -> ImageSource:
        return self.source.render() if isinstance(self.source, SyntheticSpec) else self.source


@dataclass
class Embedded:
    """Embeddings ``x`` of the samples that could be read, in order; the rest in ``failures``."""

    samples: list[GateSample]
    x: np.ndarray
    failures: list[tuple[GateSample, str]] = field(default_factory=list)

    def where(self, *kinds: str) -> "Embedded":
        keep = [i for i, s in enumerate(self.samples) if s.kind in kinds]
        return Embedded([self.samples[i] for i in keep], self.x[keep])

    def kinds(self) -> np.ndarray:
        return np.array([s.kind for s in self.samples])

    def clusters(self) -> list[str]:
        return [s.cluster or s.key for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)


def _item(s: GateSample) -> EmbedItem:
    if isinstance(s.source, SyntheticSpec):
        # its key names the generator version: the same key is the same image
        return EmbedItem(s.key, s.source.render, "generated")
    return EmbedItem(s.key, s.source, file_stamp(s.source))


def embed_samples(classifier, samples: Sequence[GateSample], cache: EmbeddingCache | None = None,
                  batch_size: int = 8, progress: Callable[[int, int], None] | None = None) -> Embedded:
    """Embed ``samples`` through the one embedding pipeline; unreadable images are reported."""
    x, errors = embed(classifier, [_item(s) for s in samples], cache, batch_size, progress)
    kept = [i for i, e in enumerate(errors) if e is None]
    failures = [(samples[i], e) for i, e in enumerate(errors) if e is not None]
    return Embedded([samples[i] for i in kept], x[kept], failures)
