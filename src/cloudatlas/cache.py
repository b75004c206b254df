"""Where CloudAtlas keeps derived data, and the one file hasher.

Two places, one convention:

* ``dataset_cache_dir(root)``: hashes and embeddings of one data set. ``DATA/.cloudatlas`` when
  the data set is writable (the cache travels with the data, next to the cleaner's journal);
  otherwise, e.g. for a read-only shared copy, a per-user folder keyed by the data set's path.
* ``user_cache_dir()``: everything else (training views).

``$CLOUDATLAS_CACHE_DIR`` moves both (then nothing is written inside data sets).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_ENV = "CLOUDATLAS_CACHE_DIR"
STATE_DIR = ".cloudatlas"  # inside a data set: its caches and the cleaner's journal


def user_cache_dir(*parts: str) -> Path:
    override = os.environ.get(CACHE_ENV)
    base = Path(override) if override else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloudatlas"
    return base.joinpath(*parts)


def writable(path: Path) -> bool:
    """Writable and not marked read-only: root may write anywhere, but a folder without write
    bits (a shared reference copy) is left alone even then."""
    try:
        return os.access(path, os.W_OK) and bool(Path(path).stat().st_mode & 0o222)
    except OSError:
        return False


def dataset_cache_dir(root: str | Path) -> Path:
    root = Path(root).resolve()
    if not os.environ.get(CACHE_ENV):
        inside = root / STATE_DIR
        if writable(inside) if inside.exists() else writable(root):
            return inside
    key = hashlib.sha1(str(root).encode()).hexdigest()[:16]
    return user_cache_dir("datasets", f"{root.name}-{key}")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
