"""``classify_archive``: find the photos, skip those the output holds, classify the rest, write them."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Iterable

from .errors import ArchiveError
from .summary import ArchiveSummary
from .walk import find_photos, name_of


def classify_archive(inputs: Iterable[str | os.PathLike], out: str | os.PathLike, model: str | os.PathLike | None = None,
                     workers: int | None = None, resume: bool = False, ray: str | None = None,
                     progress: bool | None = None, flush_seconds: float | None = None) -> ArchiveSummary:
    """Classify every photo under ``inputs`` (files, folders, glob patterns) into ``out``.

    The local engine (``ray=None``) writes ``.parquet``, ``.csv`` or ``.jsonl`` by suffix with
    ``workers`` processes (default: one per core); ``ray`` (an address or ``"auto"``) runs the job
    on a Ray cluster and writes a folder of Parquet files. ``resume`` skips the photos ``out``
    already holds. ``progress`` None shows a bar on a terminal only."""
    inputs = list(inputs)
    photos = find_photos(inputs)
    if not photos:
        raise ArchiveError(f"no photos found in {', '.join(map(str, inputs)) or 'nothing'}.")
    if workers is not None and workers < 1:
        raise ArchiveError("--workers must be at least 1.")
    if ray is not None:
        from .ray_engine import classify_on_ray

        return classify_on_ray(photos, Path(out), model, ray, resume=resume, progress=progress)
    return _classify_here(photos, Path(out), model, workers, resume, progress, flush_seconds)


def _classify_here(photos: list[str], out: Path, model, workers: int | None, resume: bool,
                   progress: bool | None, flush_seconds: float | None) -> ArchiveSummary:
    from tqdm import tqdm

    from ..inference import Classifier
    from .local import classify_local, default_workers, workers_for
    from .writers import open_writer

    start = time.perf_counter()
    clf = Classifier.load(model)  # with one worker it does the work; with more it names the columns
    with open_writer(out, clf.labels, resume, flush_seconds) as writer:
        todo = [p for p in photos if name_of(p) not in writer.done]
        workers = workers_for(len(todo), workers or default_workers())
        unreadable = 0
        with tqdm(total=len(photos), initial=len(photos) - len(todo), desc="classifying", unit="photo",
                  file=sys.stderr, disable=None if progress is None else not progress, smoothing=0.05) as bar:
            for rows in classify_local(clf, todo, workers):
                writer.write(rows)
                unreadable += sum(row["error"] is not None for row in rows)
                bar.update(len(rows))
    return ArchiveSummary(out, "local", len(photos), len(photos) - len(todo), len(todo), unreadable,
                          time.perf_counter() - start)
