"""How a data set is laid out on disk: the one place that knows the folder conventions.

    DATA/<label>/photo.jpg        one folder per label (genus codes or names, any case)
    DATA/split.csv                path,label,split,group: a fixed benchmark split (optional)
    DATA/.cloudatlas/journal.jsonl   the cleaner's journal of every change it made
    DATA/.trash/<label>/photo.jpg    photos the cleaner deleted (undo brings them back)

Folders whose names start with ``.`` or ``_`` are never label folders. Everything that reads
or changes a data set (scanning, splitting, the cleaner's journal) goes through these names.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Iterator

from ..labels import GENERA, canonical_label

SPLIT_FILE = "split.csv"
STATE_DIR = ".cloudatlas"     # inside a data set: the cleaner's journal (nothing else is written there)
JOURNAL_FILE = "journal.jsonl"
TRASH_DIR = ".trash"


def is_label_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith((".", "_"))


def label_folders(root: str | Path) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.iterdir() if is_label_folder(p)) if root.is_dir() else []


def journal_path(root: str | Path) -> Path:
    return Path(root) / STATE_DIR / JOURNAL_FILE


def trash_dir(root: str | Path) -> Path:
    return Path(root) / TRASH_DIR


def normalise_label(label: str) -> str:
    """The spelling a new label folder gets: NFKC for genus codes (a full-width 'Ｃｕ' is 'Cu'),
    NFC for other names ('Café' typed two ways is one folder)."""
    label = unicodedata.normalize("NFC", str(label).strip())
    code = canonical_label(unicodedata.normalize("NFKC", label))
    return code if code in GENERA else label


def label_folder(root: str | Path, label: str) -> Path:
    """The folder that holds ``label`` under ``root``: an existing one spelled any way
    ('cumulus/' for 'Cu', an NFD 'Café/' for 'Café'), else ``root/<its spelling>`` (not created)."""
    root = Path(root)
    wanted = canonical_label(normalise_label(label))
    for folder in label_folders(root):
        if canonical_label(normalise_label(folder.name)) == wanted:
            return folder
    return root / normalise_label(label)


def printable(name: str) -> str:
    """A name from the disk as text any terminal, log or JSON can carry: the bytes of a name that
    is not UTF-8 (which Python holds as lone surrogates) become ``\\xe9``, control characters
    (a newline in a file name) ``\\n``. Only for showing: the name itself is left as it is."""
    try:
        text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte became (from an edited journal)
        text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        text = "".join(c.encode("unicode_escape").decode("ascii") if ord(c) < 32 or ord(c) == 127 else c
                       for c in text)
    return text


def name_candidates(name: str) -> Iterator[str]:
    """``x.jpg, x-1.jpg, x-2.jpg, ...``: the names to try, in order, so a file never replaces another."""
    stem, suffix = Path(name).stem, Path(name).suffix
    yield name
    n = 1
    while True:
        yield f"{stem}-{n}{suffix}"
        n += 1
