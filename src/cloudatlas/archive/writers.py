"""Result files that survive being killed: every row written once, a resumed run adds the rest.

Rows are buffered and made durable in batches (``flush``): a batch is complete on disk (written,
flushed, ``fsync``-ed) before the next one starts, so a process killed at any instant, even by
``kill -9`` or a power cut, leaves every earlier batch whole and at most one torn batch at the end.

* **JSONL** and **CSV** are append-only: one line per photo (CSV quotes a newline inside a name),
  and a batch ends with a newline. On ``resume`` whatever follows the last complete line is a
  torn batch: it is cut off and its photos are classified again.
* **Parquet** cannot be appended to, so a batch is a part file in a sidecar folder
  ``NAME.parquet.parts/``, written under a temporary name and renamed into place (a rename is
  atomic: a part is whole or absent). Closing the writer, also on Ctrl-C or an error, merges the
  parts and the old ``NAME.parquet`` into a new one, renamed over it, then removes the sidecar.
  A run killed before that leaves the sidecar; ``resume`` reads it and the next close merges it.
  Parts already merged when a kill struck (between the rename and the clean-up) hold only photos
  the merged file has: they are recognised and removed, never counted twice.

``done`` is the set of photos (``file`` values) the output already holds.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Sequence

from ..errors import require
from .errors import ArchiveError
from .rows import arrow_schema

FORMATS = (".parquet", ".csv", ".jsonl")


def open_writer(path: str | os.PathLike, labels: Sequence[str], resume: bool = False,
                flush_seconds: float | None = None) -> "ResultWriter":
    """The writer for ``path``'s suffix; refuses an existing output unless ``resume``."""
    path = Path(path)
    kinds = {".parquet": ParquetWriter, ".csv": CsvWriter, ".jsonl": JsonlWriter}
    kind = kinds.get(path.suffix.lower())
    if kind is None:
        raise ArchiveError(f"{path}: the results file must end in .parquet, .csv or .jsonl.")
    return kind(path, labels, resume, flush_seconds)


class ResultWriter:
    """Buffer rows; make them durable every ``flush_rows`` rows or ``flush_seconds``."""

    flush_rows = 100
    flush_seconds = 2.0

    def __init__(self, path: Path, labels: Sequence[str], resume: bool, flush_seconds: float | None):
        from .rows import columns

        self.path, self.labels, self.columns = path, list(labels), columns(labels)
        if flush_seconds is not None:
            self.flush_seconds = flush_seconds
        self._buffer: list[dict] = []
        self._flushed_at = time.monotonic()
        self.done: set[str] = set()
        if not path.parent.is_dir():
            raise ArchiveError(f"{path.parent}: no such folder for the results file.")
        if self.exists():
            if not resume:
                raise ArchiveError(f"{path} already exists: add --resume to continue it, or choose another --out.")
            self.done = self.recover()
        self.start()

    # -- what each format does -----------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def recover(self) -> set[str]:
        """Read what an earlier run left, drop a torn tail; the photos it holds."""
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def write_batch(self, rows: list[dict]) -> None:
        """Write ``rows`` durably: complete on disk when this returns."""
        raise NotImplementedError

    def finish(self) -> None:
        pass

    # -- shared --------------------------------------------------------------------------------
    def write(self, rows: Sequence[dict]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.flush_rows or time.monotonic() - self._flushed_at >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.write_batch(self._buffer)
            self._buffer = []
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        self.flush()
        self.finish()

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, *exc) -> None:
        # Also on Ctrl-C or an error: the buffered rows are finished answers, worth keeping.
        self.close()

    def _mismatch(self, found: Sequence[str]) -> ArchiveError:
        return mismatch(self.path, found, self.columns)


def mismatch(path: Path, found: Sequence[str], columns: Sequence[str]) -> ArchiveError:
    return ArchiveError(f"{path}: its columns ({', '.join(found[:9])}, ...) are not this model's "
                        f"({', '.join(columns[:9])}, ...); continue it with the model that wrote it, "
                        "or choose another --out.")


def parquet_files(path: Path, columns: Sequence[str]) -> list[str]:
    """The ``file`` column of a Parquet results file, after checking it has ``columns``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        if names != list(columns):
            raise mismatch(path, names, columns)
        return pq.read_table(path, columns=["file"]).column("file").to_pylist()
    except (OSError, pa.ArrowException) as err:
        raise ArchiveError(f"{path}: not a Parquet file cloudatlas predict wrote ({err}).") from None


def _durable_append(f, data: bytes) -> None:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (the folder's entry is data too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete_lines(path: Path):
    """The file's lines as bytes, newline included, streamed (a results file can hold millions);
    a last piece without its newline is a torn batch and is not yielded."""
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                return
            yield line


def _cut(path: Path, size: int) -> None:
    """Drop a torn tail left by a killed run."""
    if path.stat().st_size != size:
        with open(path, "r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())


class _AppendOnly(ResultWriter):
    """A text file that only grows: a batch is its encoded lines, appended durably."""

    def encode(self, rows: list[dict]) -> bytes:
        raise NotImplementedError

    def start(self) -> None:
        self._file = open(self.path, "ab")

    def write_batch(self, rows: list[dict]) -> None:
        _durable_append(self._file, self.encode(rows))

    def finish(self) -> None:
        self._file.close()


class JsonlWriter(_AppendOnly):
    """One JSON object per line, keys in column order."""

    def recover(self) -> set[str]:
        done, good, bad = set(), 0, None
        for n, line in enumerate(_complete_lines(self.path), 1):
            if bad is not None:
                raise ArchiveError(f"{self.path}, line {bad}: not a result row; is this a file "
                                   "cloudatlas predict wrote?")
            try:
                row = json.loads(line)
            except ValueError:  # a power cut can leave a last line of garbage: fatal only if more follow
                bad = n
                continue
            if not isinstance(row, dict) or list(row) != self.columns:
                raise self._mismatch(list(row) if isinstance(row, dict) else [])
            done.add(row["file"])
            good += len(line)
        _cut(self.path, good)
        return done

    def encode(self, rows: list[dict]) -> bytes:
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


class CsvWriter(_AppendOnly):
    """A header line, then one record per photo; an empty field is a null."""

    def recover(self) -> set[str]:
        consumed = [0]  # bytes the reader has taken, at each record's end

        def lines():
            for line in _complete_lines(self.path):
                consumed[0] += len(line)
                try:
                    yield line.decode("utf-8")
                except UnicodeDecodeError:
                    raise ArchiveError(f"{self.path}: not a UTF-8 CSV file cloudatlas predict wrote.") from None

        done, good, header = set(), 0, None
        for record in _records(csv.reader(lines(), strict=True)):
            if header is None:
                header = record
                if header != self.columns:
                    raise self._mismatch(header)
            elif len(record) == len(self.columns):
                done.add(record[0])
            else:
                raise ArchiveError(f"{self.path}: a record with {len(record)} fields instead of "
                                   f"{len(self.columns)}; is this a file cloudatlas predict wrote?")
            good = consumed[0]
        _cut(self.path, good)
        return done

    def start(self) -> None:
        super().start()
        if self._file.tell() == 0:
            _durable_append(self._file, self.encode([dict(zip(self.columns, self.columns))]))

    def encode(self, rows: list[dict]) -> bytes:
        buf = io.StringIO()
        csv.DictWriter(buf, self.columns, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8")


def _records(reader):
    """The records of a CSV reader up to a torn end (a quoted field the file stops inside)."""
    try:
        yield from reader
    except csv.Error:
        return


class ParquetWriter(ResultWriter):
    """Part files in ``NAME.parquet.parts/`` while running, one ``NAME.parquet`` when closed."""

    flush_rows = 500
    flush_seconds = 10.0
    ROW_GROUP = 65_536  # rows per row group of the merged file: parts are small, readers like big groups

    def __init__(self, path: Path, labels: Sequence[str], resume: bool, flush_seconds: float | None):
        self.pa = require("pyarrow", "writing Parquet", "parquet")
        import pyarrow.parquet as pq

        self.pq = pq
        self.parts = path.with_name(path.name + ".parts")
        self._next = 0
        super().__init__(path, labels, resume, flush_seconds)

    def exists(self) -> bool:
        return self.path.exists() or self.parts.exists()

    def _files(self, path: Path) -> list[str]:
        return parquet_files(path, self.columns)

    def recover(self) -> set[str]:
        done = set(self._files(self.path)) if self.path.exists() else set()
        merged = set(done)
        stale = [*self.parts.glob(".part-*.tmp"), self._merging()]  # a kill stopped them before their rename
        for tmp in stale:
            tmp.unlink(missing_ok=True)
        for part in self._part_files():
            files = self._files(part)
            if merged and merged.issuperset(files):  # merged, then killed before the clean-up
                part.unlink()
                continue
            if merged.intersection(files):
                raise ArchiveError(f"{part}: holds photos {self.path.name} also holds; remove one of them.")
            done.update(files)
            self._next = max(self._next, int(part.stem.split("-")[1]) + 1)
        return done

    def _merging(self) -> Path:
        return self.path.with_name(f".{self.path.name}.tmp")

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []

    def start(self) -> None:
        self.parts.mkdir(exist_ok=True)
        self.schema = arrow_schema(self.labels)

    def write_batch(self, rows: list[dict]) -> None:
        name = f"part-{self._next:06d}"
        tmp, final = self.parts / f".{name}.tmp", self.parts / f"{name}.parquet"
        self._write_durably(tmp, [self.pa.Table.from_pylist(rows, schema=self.schema)])
        os.replace(tmp, final)
        _fsync_dir(self.parts)
        self._next += 1

    def _write_durably(self, path: Path, tables) -> None:
        with open(path, "wb") as f:
            with self.pq.ParquetWriter(f, self.schema) as writer:
                pending, size, written = [], 0, False
                for table in tables:
                    pending.append(table)
                    size += table.num_rows
                    if size >= self.ROW_GROUP:
                        writer.write_table(self.pa.concat_tables(pending), row_group_size=self.ROW_GROUP)
                        pending, size, written = [], 0, True
                if pending or not written:  # an empty file still has the columns
                    writer.write_table(self.pa.concat_tables(pending) if pending else self.schema.empty_table())
            f.flush()
            os.fsync(f.fileno())

    def finish(self) -> None:
        parts = self._part_files()
        if parts or not self.path.exists():
            sources = ([self.path] if self.path.exists() else []) + parts
            tmp = self._merging()
            self._write_durably(tmp, self._batches(sources))
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        shutil.rmtree(self.parts, ignore_errors=True)

    def _batches(self, sources: list[Path]):
        """The rows of ``sources`` a row group at a time: a merge holds one group in memory, not all."""
        for src in sources:
            for batch in self.pq.ParquetFile(src).iter_batches(batch_size=self.ROW_GROUP):
                yield self.pa.Table.from_batches([batch], schema=self.schema)
