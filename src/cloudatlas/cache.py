"""Where CloudAtlas keeps derived data, and the one file hasher.

Derived data (hashes and embeddings of a data set, training views, probe models) lives in the
user's cache folder, never in the data set a tool reads: reading a folder must not change it.
``dataset_cache_dir(root)`` is that folder's own corner of the cache, keyed by its path.
Only the cleaner, which changes a data set on purpose, writes inside it (its journal, see
``data.layout``). ``$CLOUDATLAS_CACHE_DIR`` moves the whole cache.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_ENV = "CLOUDATLAS_CACHE_DIR"


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
    """The cache folder of one data set (its hashes and embeddings), outside the data set."""
    root = Path(root).resolve()
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
