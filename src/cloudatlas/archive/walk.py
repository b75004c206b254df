"""Find the photos of an archive: files, folders (recursively) and glob patterns, each photo once.

Folders are walked in sorted order, so two runs see the photos in the same order. Hidden folders
and files (``.trash`` of the cleaner, ``.cloudatlas`` caches, macOS ``._IMG.jpg`` forks) are
skipped, and so are files without a photo suffix; a file named explicitly is always taken, even
with another suffix, so that it gets a row saying why it cannot be read. Linked folders are not
followed (a link back up would loop forever); linked files are taken.
"""
from __future__ import annotations

import glob
import os
from typing import Iterable, Iterator

from ..imageio import is_image_file
from .errors import ArchiveError


def name_of(path: str) -> str:
    """The photo's name in the output: its absolute path, so that a run resumed from another
    folder still recognises it. Bytes that are not UTF-8 become ``\\xNN`` (Parquet, CSV and JSON
    hold text only)."""
    return os.path.abspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def find_photos(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Every photo under ``inputs``, in order, without repeats. A path that does not exist is
    kept (it becomes a row with "no such file"); a glob pattern that matches nothing is an error."""
    seen: set[str] = set()
    out: list[str] = []
    for item in inputs:
        for path in _expand(os.fspath(item)):
            key = os.path.abspath(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _expand(item: str) -> Iterator[str]:
    if os.path.isdir(item):
        yield from _walk(item)
    elif os.path.lexists(item) or not glob.has_magic(item):
        yield item
    else:
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            raise ArchiveError(f"{item}: no file or folder matches this pattern.")
        for match in matches:
            if os.path.isdir(match):
                yield from _walk(match)
            elif is_image_file(match):  # a pattern like 'archive/**' names folders' other files too
                yield match


def _walk(root: str) -> Iterator[str]:
    def refuse(err: OSError) -> None:  # a folder we cannot list would silently lose its photos
        raise ArchiveError(f"{err.filename}: cannot list this folder ({err.strerror}).")

    for folder, dirs, files in os.walk(root, onerror=refuse):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and is_image_file(name):
                yield os.path.join(folder, name)
