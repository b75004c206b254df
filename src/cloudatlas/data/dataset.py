"""Folder-per-class data sets: find the photos, their labels, and a leak-free split.

``DATA/<label>/*.jpg`` like fastai's ``parent_label``; ``DATA/split.csv`` (path,label,split,group)
when present fixes the benchmark split, otherwise :func:`split_of` draws one that keeps
near-duplicates together. Torch-free, so the data tools can use it too.
"""
from __future__ import annotations

import csv
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, JournalError
from ..imageio import is_image_file
from ..labels import canonical_label
from .hashes import photo_groups
from .layout import SPLIT_FILE, journal_path, label_folders

log = logging.getLogger(__name__)
AUTO_TEST_FRACTION = 0.2
AUTO_SPLIT_SEED = 1234  # fixed: a folder's automatic test part never moves

__all__ = ["DataError", "Sample", "group_label_votes", "group_split", "outvoted_samples", "read_split_file",
           "scan_folder", "split_of"]


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    group: str = ""  # near-duplicate cluster; a group never straddles a split
    split: str = ""

    @property
    def key(self) -> str:
        """Path relative to the data root, as written in split.csv."""
        return f"{self.path.parent.name}/{self.path.name}"


def scan_folder(root: str | Path) -> list[Sample]:
    """Every image under ``root/<label>/``; the label is the folder name, canonicalised."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder.")
    samples = []
    for folder in label_folders(root):
        label = canonical_label(folder.name)
        samples.extend(Sample(path, label) for path in sorted(folder.iterdir())
                       if path.is_file() and is_image_file(path))
    if not samples:
        raise DataError(f"{root}: no photos found. Expected one folder per label, e.g. "
                        f"{root}/Cu/photo1.jpg, {root}/Ci/photo2.jpg.")
    return samples


def split_of(root: str | Path, samples: list[Sample] | None = None) -> list[Sample]:
    """Every photo of ``root`` with its ``split`` (train / test) and near-duplicate ``group``:
    from ``split.csv`` when there is one, else a stratified 20 % test part that moves whole
    groups and never changes (a fixed seed)."""
    root = Path(root)
    samples = scan_folder(root) if samples is None else samples
    fixed = read_split_file(root, samples)
    if fixed is not None:
        return fixed
    groups = photo_groups(root, samples)
    grouped = [Sample(s.path, s.label, group=g) for s, g in zip(samples, groups)]
    rest, test = group_split(grouped, AUTO_TEST_FRACTION, seed=AUTO_SPLIT_SEED)
    held = {s.path for s in test}
    return [Sample(s.path, s.label, s.group, "test" if s.path in held else "train") for s in grouped]


def read_split_file(root: Path, samples: list[Sample]) -> list[Sample] | None:
    """Attach split and group from ``root/split.csv``; None when there is no such file.

    A photo keeps its row when it moves to another label (relabelled in the cleaner or by
    hand), so relabelling never changes which photos are in the benchmark's test part; it takes
    its new label with it. Photos added after the split was fixed are left out of it.
    """
    csv_path = root / SPLIT_FILE
    if not csv_path.exists():
        return None
    with open(csv_path, newline="") as f:
        rows = {row["path"]: row for row in csv.DictReader(f)}
    row_of = split_rows(root, samples, rows)
    out = [Sample(s.path, s.label, group=row.get("group", "") or row["path"], split=row["split"])
           for s in samples if (row := row_of.get(s.key)) is not None]
    if len(out) < len(samples):
        log.warning("%d of %d photos in %s are not in %s and are left out of the split.",
                    len(samples) - len(out), len(samples), root, SPLIT_FILE)
    return out


def split_rows(root: Path, samples: list[Sample], rows: dict[str, dict]) -> dict[str, dict]:
    """The split.csv row of each photo that has one, by the photo's path relative to ``root``.

    A row whose path no longer names a photo is claimed, in this order, by the photo the
    cleaner's journal says was moved from there (which follows renames on a name clash), then
    by the one photo without a row of its own that has the same file name (CCSN's names are
    unique, so this finds photos moved by hand); never by a name two such photos share.
    """
    row_of = {s.key: rows[s.key] for s in samples if s.key in rows}
    free = {path: row for path, row in rows.items() if path not in row_of}
    if not free:
        return row_of
    for key, original in _journal_moves(root).items():
        if key not in row_of and original in free:
            row_of[key] = free.pop(original)
    free_by_name = Counter(Path(path).name for path in free)
    homeless = [s for s in samples if s.key not in row_of]
    homeless_names = Counter(s.path.name for s in homeless)
    by_name = {Path(path).name: row for path, row in free.items()}
    for s in homeless:
        if free_by_name[s.path.name] == 1 and homeless_names[s.path.name] == 1:
            row_of[s.key] = by_name[s.path.name]
    return row_of


def _journal_moves(root: Path) -> dict[str, str]:
    """Current path -> original path of every photo ``cloudatlas clean`` moved in ``root``."""
    from .journal import Journal

    if not journal_path(root).exists():
        return {}
    try:
        return Journal(root).moved_from()
    except JournalError as err:  # reading a data set never fails on its cleaner's journal
        log.warning("%s; photos moved by the cleaner may be left out of split.csv's parts.", err)
        return {}


def group_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Hold out about ``fraction`` of each label, moving whole groups so none straddles."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.group or s.key].append(s)
    # Stratify by each group's majority label; shuffle deterministically.
    by_label: dict[str, list[str]] = defaultdict(list)
    for gid, members in sorted(groups.items()):
        by_label[Counter(m.label for m in members).most_common(1)[0][0]].append(gid)
    rng = random.Random(seed)
    held: set[str] = set()
    for label, gids in sorted(by_label.items()):
        rng.shuffle(gids)
        target = round(fraction * sum(len(groups[g]) for g in gids))
        taken = 0
        for gid in gids:
            if taken >= target:
                break
            held.add(gid)
            taken += len(groups[gid])
    keep = [s for s in samples if (s.group or s.key) not in held]
    hold = [s for s in samples if (s.group or s.key) in held]
    return keep, hold


def group_label_votes(samples) -> dict[str, Counter]:
    """How many photos of each near-duplicate group carry each label."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for s in samples:
        if s.group:
            votes[s.group][s.label] += 1
    return votes


def outvoted_samples(samples: list[Sample]) -> list[Sample]:
    """Photos whose label disagrees with the majority of their near-duplicates.

    A group with no strict majority (an identical photo filed as both Ac and Cc) loses all its
    members: the model cannot learn two answers to one picture.
    """
    votes = group_label_votes(samples)
    out = []
    for s in samples:
        counts = votes.get(s.group)
        if not counts or len(counts) == 1:
            continue
        (top, n_top), (_, n_second) = counts.most_common(2)
        if s.label != top or n_top == n_second:
            out.append(s)
    return out
