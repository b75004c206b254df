"""The local engine: this machine's cores, in worker processes, one network call per photo.

One worker runs in this process: threads decode the next photos while ONNX Runtime runs the
network on all cores (``Classifier.predict_batch``). More workers are processes, each with its
own model session on its share of the cores, handed small chunks of paths; the answers come
back in order. Processes beat ONNX Runtime's own threads here because the network is small and
runs one photo at a time, so the threads of one session spend much of it waiting on each other:
82 ms of CPU per photo with threads, 51 ms with two processes (benchmarks/batch.py), and the
processes were as fast or up to twice as fast on the clock.

A photo that kills its worker (a decoder crash, the kernel's out-of-memory killer) must not
cost the job: the photos that were in flight are classified again one at a time in a fresh
process, so the one that crashes is found and gets a row saying so, and the rest get answers.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator, Sequence

from ..imageio import ImageLoadError
from .errors import ArchiveError
from .rows import row_of
from .walk import name_of

CHUNK = 16  # photos per task: enough to amortise a round trip, few enough to keep every worker busy
CRASHED = "the photo crashed the decoder (its worker process died); it was not classified"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers() -> int:
    """One process per core: measured fastest (benchmarks/batch.py)."""
    return usable_cores()


def workers_for(photos: int, workers: int) -> int:
    """No more processes than there are chunks to hand out (a few photos need none)."""
    return max(1, min(workers, -(-photos // CHUNK)))


def classify_chunk(clf, paths: Sequence[str]) -> list[dict]:
    """Rows for ``paths``; nothing a photo does can raise out of here."""
    try:
        results = clf.predict_batch(paths)
    except Exception:  # something load_image does not turn into ImageLoadError: find the photo
        results = [_one(clf, path) for path in paths]
    return [row_of(name_of(path), result, clf.labels) for path, result in zip(paths, results)]


def _one(clf, path: str):
    try:
        return clf.predict(path)
    except Exception as err:  # reported in the photo's row, not raised: one bad file is not the job
        return err


def classify_local(clf, paths: Sequence[str], workers: int = 1) -> Iterator[list[dict]]:
    """Rows of ``paths``, a chunk at a time, in order. ``clf`` is this process's model: it does
    the work when ``workers`` is 1; otherwise each worker process loads its file."""
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    if workers <= 1:
        for chunk in chunks:
            yield classify_chunk(clf, chunk)
        return
    threads = max(1, usable_cores() // workers)
    crashed = lambda path: row_of(name_of(path), ImageLoadError(CRASHED), clf.labels)  # noqa: E731
    pool = _Pool(workers, _init_worker, (str(clf.path), threads), _work, crashed)
    yield from pool.map(chunks)


# -- worker processes --------------------------------------------------------------------------
_worker_clf = None


def _init_worker(model_path: str, threads: int) -> None:
    global _worker_clf
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    _leave_with_parent()
    from ..inference import Classifier

    _worker_clf = Classifier.load(model_path, threads=threads)


def _leave_with_parent() -> None:
    """Exit when the parent dies (kill -9 included). The task queue cannot tell us: each worker
    holds a copy of its writing end, so it never reads end-of-file, and would wait forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _work(paths: list[str]) -> list[dict]:
    return classify_chunk(_worker_clf, paths)


class _Pool:
    """Worker processes fed a bounded window of chunks, answers in order.

    ``work(paths) -> rows`` runs in the workers after ``initializer(*initargs)``; ``crashed(path)``
    is the row of a photo whose worker died on it."""

    def __init__(self, workers: int, initializer, initargs: tuple, work=None, crashed=None):
        self.workers, self.initializer, self.initargs = workers, initializer, initargs
        self.work, self.crashed = work, crashed
        # spawn, not fork: a forked child would inherit ONNX Runtime's and the decoders' threads
        # mid-flight; spawn costs a second per worker, once
        self.context = multiprocessing.get_context("spawn")

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=self.context, initializer=self.initializer,
                                   initargs=self.initargs)

    def map(self, chunks: Iterable[list[str]]) -> Iterator[list[dict]]:
        chunks = iter(chunks)
        window: deque = deque()
        pool = self._executor(self.workers)
        try:
            while True:
                try:
                    while len(window) < 2 * self.workers and (chunk := next(chunks, None)) is not None:
                        window.append((chunk, None))  # in the window first: a refused submit is a suspect too
                        window[-1] = (chunk, pool.submit(self.work, chunk))
                    if not window:
                        return
                    rows = window[0][1].result()
                except BrokenProcessPool:  # a worker died: every chunk in flight is a suspect
                    pool.shutdown(wait=False, cancel_futures=True)
                    suspects = [c for c, _ in window]
                    window.clear()
                    for suspect in suspects:
                        yield self._one_by_one(suspect)
                    pool = self._executor(self.workers)
                    continue
                window.popleft()
                yield rows
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _healthy_executor(self) -> ProcessPoolExecutor:
        """A one-process pool that has shown it can start; when it cannot, no photo is to blame."""
        single = self._executor(1)
        try:
            single.submit(self.work, []).result()
        except BrokenProcessPool:
            single.shutdown(wait=False)
            raise ArchiveError("the worker processes die before classifying any photo (see the messages above); "
                               "a script that starts them needs \"if __name__ == '__main__':\", "
                               "or try --workers 1.") from None
        return single

    def _one_by_one(self, chunk: list[str]) -> list[dict]:
        """Each photo alone, in turn, in one process: the photo that kills it is the culprit."""
        rows = []
        single = self._healthy_executor()
        try:
            for path in chunk:
                try:
                    rows += single.submit(self.work, [path]).result()
                except BrokenProcessPool:
                    single.shutdown(wait=False)
                    single = self._healthy_executor()
                    rows.append(self.crashed(path))
        finally:
            single.shutdown(wait=False, cancel_futures=True)
        return rows
