"""Real conditions a data set can be in that a cleaner must survive: a folder it cannot change,
a disk that fills mid-write, links that lead out of the set. No mocks: the kernel says no.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """``folder`` refuses new and removed names while the block runs, for root too.

    Root ignores permission bits, so as root the folder is made immutable (chattr +i, EPERM);
    any other user gets a folder without write bits (EACCES)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = None
    try:
        with pytest.raises(OSError):  # really read-only, or the test proves nothing
            (folder / ".probe").touch()
        yield folder
    finally:
        if undo:
            subprocess.run(undo, check=True)
        else:
            folder.chmod(0o755)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "64k"):
    """A file system of ``size`` mounted at ``where``: a disk that really fills up."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); run as root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill_disk(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system has no byte left; returns the file."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0")
    return filler


def non_utf8_name(folder: Path, name: bytes, data: bytes) -> Path:
    """A file whose name is not UTF-8 (a Latin-1 'café.jpg' from an old camera or a ZIP)."""
    path = Path(os.fsdecode(bytes(folder) + b"/" + name))
    path.write_bytes(data)
    return path
