"""The one photo hasher: SHA-256 of the bytes and pHash of the upright pixels, from one read.

Cached per data set in the user cache (keyed by each file's size and modification time), so
a second audit, split or recipe assembly of an unchanged set reads no photo again.
"""
from __future__ import annotations

import io
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import bytes_sha256, dataset_cache_dir
from ..imageio import ImageLoadError, image_info, load_image
from .phash import DEFAULT_MAX_DISTANCE, HASH_DECODE_SIZE, near_duplicate_groups, phash_image

HASH_CACHE = "hashes.json"
HASH_CACHE_VERSION = 1



def write_json_atomic(path: Path, obj) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(obj, separators=(",", ":")))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time


# -- per-photo hashes --------------------------------------------------------------------------
@dataclass
class PhotoHash:
    """What the audit needs to know about one file, computed from a single read."""

    key: str  # "label-folder/name.jpg", as in split.csv
    label: str
    size: int
    mtime_ns: int
    sha256: str
    phash: int | None = None  # 64-bit perceptual hash; None when unreadable
    width: int = 0
    height: int = 0
    format: str = ""
    error: str | None = None

    def _cache_row(self) -> list:
        return [self.size, self.mtime_ns, self.sha256, self.phash, self.width, self.height,
                self.format, self.error]


def hash_image_bytes(data: bytes, name: str) -> tuple[int | None, int, int, str, str | None]:
    """(pHash, width, height, format, error) of one file's bytes."""
    if not data:
        return None, 0, 0, "", f"{name}: the file is empty."
    width = height = 0
    fmt = ""
    try:
        width, height, fmt = image_info(data)  # header only: the size before draft mode
    except ImageLoadError:
        pass  # load_image below says why, in words
    buffer = io.BytesIO(data)
    buffer.name = name  # so messages name the file, not "upload"
    try:
        img = load_image(buffer, min_size=HASH_DECODE_SIZE)
    except ImageLoadError as err:
        return None, width, height, fmt, str(err)
    return phash_image(img), width, height, fmt, None


class _DecodedOnce:
    """hash_image_bytes by SHA-256: what one copy of some bytes gave, every copy gets."""

    def __init__(self):
        self._by_sha: dict[str, tuple[str, tuple]] = {}
        self._lock = threading.Lock()

    def get(self, sha256: str, data: bytes, name: str) -> tuple:
        with self._lock:
            known = self._by_sha.get(sha256)
        if known is None:
            known = (name, hash_image_bytes(data, name))
            with self._lock:
                self._by_sha[sha256] = known
        first_name, (phash, width, height, fmt, error) = known
        if error and first_name != name:
            error = name + error[len(first_name):]  # messages begin with the file's own name
        return phash, width, height, fmt, error


def hash_photos(root: str | Path, samples: list[Sample], workers: int = 1,
                progress: bool | None = None, cache: bool = True) -> list[PhotoHash]:
    """SHA-256 and pHash of every photo, reusing cached values for unchanged files."""
    from tqdm import tqdm

    root = Path(root)
    cache_path = dataset_cache_dir(root) / HASH_CACHE
    cached: dict[str, list] = {}
    if cache and cache_path.exists():
        try:
            stored = json.loads(cache_path.read_text())
            if stored.get("version") == HASH_CACHE_VERSION:
                cached = stored.get("files", {})
        except (OSError, ValueError):
            cached = {}  # a damaged cache is rebuilt, never trusted

    # Identical bytes decode once: 10 000 copies of one scraped placeholder are one decode.
    decoded = _DecodedOnce()

    def one(sample: Sample) -> PhotoHash:
        try:
            stat = sample.path.stat()
        except OSError as err:
            return PhotoHash(sample.key, sample.label, 0, 0, "", error=f"{sample.path.name}: {err.strerror}.")
        row = cached.get(sample.key)
        if row and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return PhotoHash(sample.key, sample.label, *row)
        try:
            data = sample.path.read_bytes()
        except OSError as err:
            return PhotoHash(sample.key, sample.label, stat.st_size, stat.st_mtime_ns, "",
                             error=f"{sample.path.name}: could not be read ({err.strerror}).")
        sha256 = bytes_sha256(data)
        phash, width, height, fmt, error = decoded.get(sha256, data, sample.path.name)
        return PhotoHash(sample.key, sample.label, stat.st_size, stat.st_mtime_ns,
                         sha256, phash, width, height, fmt, error)

    bar = tqdm(total=len(samples), desc="hashing", unit="photo", disable=not progress if progress is not None else None,
               leave=False)
    with bar, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashes = []
        for h in pool.map(one, samples):  # Pillow releases the GIL while decoding
            hashes.append(h)
            bar.update()
    if cache:
        fresh = {h.key: h._cache_row() for h in hashes if h.sha256}
        if fresh != cached:
            write_json_atomic(cache_path, {"version": HASH_CACHE_VERSION, "files": fresh})
    return hashes




def distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct pHash values, the index of each value among them). Pairs are searched among
    distinct values only: 10 000 identical photos are one value, not 50 million pairs (69 s, 2.3 GB)."""
    distinct, inverse = np.unique(np.asarray(values, dtype=np.uint64), return_inverse=True)
    return distinct, inverse.reshape(-1)


def photo_groups(root: str | Path, samples: list, max_distance: int = DEFAULT_MAX_DISTANCE) -> list[str]:
    """The near-duplicate group of each photo (pHash within ``max_distance`` bits, EXIF-upright):
    the index of its group's first photo, as text."""
    values = []
    for i, h in enumerate(hash_photos(root, samples)):
        # an unreadable file gets a hash of its own, far from everything (a random 64-bit value)
        values.append(h.phash if h.phash is not None else int(np.random.default_rng(i).integers(0, 2**63)))
    distinct, inverse = distinct_values(np.array(values, dtype=np.uint64))
    group_of_value = near_duplicate_groups(distinct, max_distance)
    first_photo: dict[int, int] = {}
    for i, value in enumerate(inverse):  # in order, so the first photo seen of a group is its first
        first_photo.setdefault(group_of_value[value], i)
    return [str(first_photo[group_of_value[value]]) for value in inverse]
