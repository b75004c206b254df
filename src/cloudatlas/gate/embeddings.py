"""Backbone embeddings of the gate's images, with an optional on-disk cache.

Embedding a few thousand photos takes minutes on a laptop CPU; re-fitting the gate (another seed,
another C) should not. The cache is keyed by the model file's SHA-256 and each image's key, so a
changed model or a changed synthetic generator never reuses stale vectors.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..imageio import ImageLoadError, ImageSource
from .synthetic import SyntheticSpec

KINDS = ("cloud", "photo", "synthetic")  # a sky photo, a photo of something else, a non-photo


@dataclass(frozen=True)
class GateSample:
    """One image of the gate's data: where it comes from and what it is."""

    key: str
    kind: str  # one of KINDS
    group: str  # genus code for clouds, 'not_cloud' for photos, the style for synthetic images
    source: Path | SyntheticSpec

    @property
    def is_cloud(self) -> bool:
        return self.kind == "cloud"

    def load(self) -> ImageSource:
        return self.source.render() if isinstance(self.source, SyntheticSpec) else self.source


@dataclass
class Embedded:
    """Embeddings ``x`` of the samples that could be read, in order; the rest in ``failures``."""

    samples: list[GateSample]
    x: np.ndarray
    failures: list[tuple[GateSample, str]] = field(default_factory=list)

    @property
    def y(self) -> np.ndarray:
        return np.array([s.is_cloud for s in self.samples], dtype=np.int64)

    def where(self, kind: str) -> "Embedded":
        keep = [i for i, s in enumerate(self.samples) if s.kind == kind]
        return Embedded([self.samples[i] for i in keep], self.x[keep])

    def __len__(self) -> int:
        return len(self.samples)


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EmbeddingCache:
    """``<dir>/<model sha256>.npz`` holding ``keys`` and ``x``; loaded once, saved on demand."""

    def __init__(self, directory: str | os.PathLike, model_path: str | os.PathLike):
        self.path = Path(directory) / f"{file_digest(model_path)[:16]}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["x"]))
        self._dirty = False

    def get(self, key: str) -> np.ndarray | None:
        return self.vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        self.vectors[key] = vector
        self._dirty = True

    def save(self) -> None:
        if not self._dirty or not self.vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), x=np.stack([self.vectors[k] for k in keys]))
        os.replace(tmp, self.path)
        self._dirty = False


def embed_samples(classifier, samples: Sequence[GateSample], cache: EmbeddingCache | None = None,
                  batch_size: int = 8, progress: Callable[[int, int], None] | None = None) -> Embedded:
    """Embed ``samples`` with ``classifier.embed``; unreadable images are reported, not fatal.

    Small batches: on a CPU they are as fast per image, and ONNX Runtime's memory arena grows
    with the batch (about 0.8 GB at 32 for EfficientNet-Lite0, 0.3 GB at 8).
    """
    vectors: dict[str, np.ndarray] = {}
    failures: list[tuple[GateSample, str]] = []
    todo = []
    for s in samples:
        hit = cache.get(s.key) if cache else None
        if hit is not None:
            vectors[s.key] = hit
        else:
            todo.append(s)
    done = 0
    for start in range(0, len(todo), batch_size):
        batch, pixels = [], []
        for s in todo[start:start + batch_size]:
            try:
                pixels.append(classifier.preprocess(s.load()))
                batch.append(s)
            except ImageLoadError as err:
                failures.append((s, str(err)))
        if batch:
            for s, vec in zip(batch, classifier.embed(pixels, batch_size=batch_size)):
                vectors[s.key] = np.asarray(vec, dtype=np.float32)
                if cache:
                    cache.put(s.key, vectors[s.key])
        done += len(todo[start:start + batch_size])
        if progress:
            progress(done, len(todo))
    if cache:
        cache.save()
    kept = [s for s in samples if s.key in vectors]
    dim = next(iter(vectors.values())).shape[0] if vectors else 0
    x = np.stack([vectors[s.key] for s in kept]) if kept else np.zeros((0, dim), np.float32)
    return Embedded(kept, x, failures)
