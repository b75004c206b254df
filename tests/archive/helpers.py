"""Reading results back in every format, the answers the Python API gives, and photo folders with
broken files in them."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from cloudatlas.archive import row_of
from cloudatlas.archive.walk import name_of

TOLERANCE = 1e-5  # probabilities of two engines (other thread counts, other processes)


def read_results(path: Path) -> list[dict]:
    """Every row of a results file (or a Parquet folder), with nulls as None and numbers as floats."""
    if path.is_dir() or path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    numeric = lambda k: k == "probability" or k.startswith("p_")  # noqa: E731
    return [{k: (None if v == "" else float(v) if numeric(k) else v) for k, v in row.items()} for row in rows]


def by_file(rows: list[dict]) -> dict[str, dict]:
    out = {row["file"]: row for row in rows}
    assert len(out) == len(rows), "a photo has more than one row"
    return out


def expected_rows(clf, photos) -> dict[str, dict]:
    """The rows the Python API's answers make, one photo at a time (no engine involved)."""
    out = {}
    for photo in photos:
        try:
            result = clf.predict(photo)
        except Exception as err:  # the engines report every failure in the row; so does this
            result = err
        out[name_of(str(photo))] = row_of(name_of(str(photo)), result, clf.labels)
    return out


def assert_same_rows(got: dict[str, dict], want: dict[str, dict]) -> None:
    assert set(got) == set(want), f"missing {sorted(set(want) - set(got))[:3]}, extra {sorted(set(got) - set(want))[:3]}"
    for file, row in want.items():
        other = got[file]
        assert list(other) == list(row), file
        for key, value in row.items():
            if isinstance(value, float):
                assert abs(other[key] - value) <= TOLERANCE, (file, key, other[key], value)
            else:
                assert other[key] == value, (file, key, other[key], value)


def broken_files(folder: Path, good: Path) -> list[Path]:
    """One of each kind of unreadable file an archive holds: text named .jpg, a cut JPEG, an
    empty PNG, an HTML page, random bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"notes.jpg": b"this is not a photo\n", "cut.jpg": good.read_bytes()[:1500], "empty.png": b"",
             "page.webp": b"<!DOCTYPE html><html><body>404</body></html>",
             "noise.jpeg": bytes(range(256)) * 8}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def archive_tree(root: Path, photos: list[Path]) -> list[Path]:
    """``photos`` copied into nested folders (three deep), plus broken files, a hidden folder and a
    text file the walk must skip; the files a walk must find."""
    found = []
    for i, photo in enumerate(photos):
        dest = root / f"cam{i % 3}" / f"day{i % 2}" / ("deep" if i % 5 == 0 else "") / photo.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, dest)
        found.append(dest)
    found += broken_files(root / "cam0" / "broken", photos[0])
    (root / ".trash").mkdir()
    shutil.copy(photos[0], root / ".trash" / "deleted.jpg")
    (root / "cam1" / "README.txt").write_text("camera one")
    return sorted(found, key=lambda p: str(p))
