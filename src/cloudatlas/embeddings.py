"""The one embedding pipeline: images -> the model's embedding vectors, cached on disk.

Everything that judges photos by a backbone's features goes through here: the cloud gates, the
label-issue search, the teacher's frozen probes. ``Classifier.preprocess`` decodes each image
once (the model's own preprocessing, pixel cap included), ``Classifier.embed_pixels`` runs the
batch. The cache (``EmbeddingCache``) is one ``.npz`` per network, keyed by the SHA-256 of the
part of the graph that computes the embedding (``embedding_fingerprint``: refitting the gates or
the calibration, or recording figures, keeps the cache); each entry has a ``stamp`` (a file's
size and modification time, or a generator's version) so a changed image is embedded again and
a stale vector is never reused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .cache import file_sha256
from .imageio import ImageLoadError, ImageSource

CACHE_VERSION = 2


@dataclass(frozen=True)
class EmbedItem:
    key: str                                        # unique within one cache
    source: ImageSource | Callable[[], ImageSource]  # a callable renders a generated image
    stamp: str = ""                                 # changes whenever the image does

    def load(self) -> ImageSource:
        return self.source() if callable(self.source) else self.source


def file_stamp(path: str | os.PathLike) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def file_item(key: str, path: str | os.PathLike) -> EmbedItem:
    return EmbedItem(key, Path(path), file_stamp(path))


def embedding_fingerprint(model_path: str | os.PathLike) -> str:
    """SHA-256 of the sub-graph from ``image`` to ``embedding`` (its input shape, nodes and weights):
    what the vectors depend on, and nothing the gates, the calibration or the metadata add. A
    model without that output is fingerprinted by its whole file."""
    import hashlib

    import onnx
    import onnx.utils

    try:
        proto = onnx.load(str(model_path))
        sub = onnx.utils.Extractor(proto).extract_model([proto.graph.input[0].name], ["embedding"])
    except Exception:  # no embedding output, or a graph onnx cannot cut: the whole file, always right
        return file_sha256(model_path)
    digest = hashlib.sha256()
    for part in [*sub.graph.input, *sub.graph.node, *sorted(sub.graph.initializer, key=lambda t: t.name)]:
        digest.update(part.SerializeToString(deterministic=True))
    return digest.hexdigest()


class EmbeddingCache:
    """``<directory>/embeddings-<embedding fingerprint>.npz``: keys, stamps and vectors."""

    def __init__(self, directory: str | os.PathLike, model_path: str | os.PathLike):
        self.path = Path(directory) / f"embeddings-{embedding_fingerprint(model_path)[:16]}.npz"
        self.vectors: dict[str, tuple[str, np.ndarray]] = {}
        self._dirty = False
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if int(z["version"]) == CACHE_VERSION:
                    self.vectors = {str(k): (str(s), v) for k, s, v in zip(z["keys"], z["stamps"], z["vectors"])}
        except (OSError, ValueError, KeyError):
            self.vectors = {}  # none yet, or damaged: recompute, never trust

    def get(self, item: EmbedItem) -> np.ndarray | None:
        hit = self.vectors.get(item.key)
        return hit[1] if hit and hit[0] == item.stamp else None

    def put(self, item: EmbedItem, vector: np.ndarray) -> None:
        self.vectors[item.key] = (item.stamp, vector)
        self._dirty = True

    def save(self) -> None:
        if not self._dirty or not self.vectors:
            return
        keys = sorted(self.vectors)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, version=CACHE_VERSION, keys=np.array(keys, dtype=str),
                     stamps=np.array([self.vectors[k][0] for k in keys], dtype=str),
                     vectors=np.stack([self.vectors[k][1] for k in keys]))
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass  # a cache that cannot be written only costs time


def embed(classifier, items: Sequence[EmbedItem], cache: EmbeddingCache | None = None, batch_size: int = 8,
          progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[str | None]]:
    """Embeddings ``[N, D]`` of ``items`` in order, and per item an error message or None
    (unreadable images get a zero row). Small batches: as fast per image on a CPU, and ONNX
    Runtime's memory arena grows with the batch."""
    vectors: list[np.ndarray | None] = [cache.get(it) if cache else None for it in items]
    errors: list[str | None] = [None] * len(items)
    todo = [i for i, v in enumerate(vectors) if v is None]
    for start in range(0, len(todo), batch_size):
        batch, pixels = [], []
        for i in todo[start:start + batch_size]:
            try:
                pixels.append(classifier.preprocess(items[i].load()))
                batch.append(i)
            except ImageLoadError as err:
                errors[i] = str(err)
        if batch:
            for i, vec in zip(batch, classifier.embed_pixels(np.stack(pixels))):
                vectors[i] = np.asarray(vec, dtype=np.float32)
                if cache:
                    cache.put(items[i], vectors[i])
        if progress:
            progress(min(start + batch_size, len(todo)), len(todo))
    if cache:
        cache.save()
    dim = next((v.shape[0] for v in vectors if v is not None), 0)
    out = np.zeros((len(items), dim), dtype=np.float32)
    for i, v in enumerate(vectors):
        if v is not None:
            out[i] = v
    return out, errors
