"""The Ray engine: the same rows as the local engine, from every CPU of a Ray cluster.

Ray Data carries the photos' paths in blocks to a pool of actors, one per cluster CPU, each of
which loads the model once (the driver ships the model file's bytes through the object store, so
nodes need only cloudatlas installed, not the model file) and classifies a block per call with
the local engine's own code (``classify_chunk``). Each block becomes one Parquet file in the
output folder; ``pyarrow.parquet.read_table(folder)`` reads them back as one table. The photos and
the output folder must be paths every node can reach (one machine, NFS, a shared disk).

Failures: Ray restarts an actor whose node died and runs its block again on a live one (Ray
Data's actor pools retry tasks without limit); a block's file name is fixed by its task, so a
rerun overwrites a file the dead node had half-written. Then the driver checks the folder itself:
a photo still missing (a job Ray gave up on) is classified in another round, and a photo written
twice has its extra copy removed, so the folder holds every photo exactly once or the command
says which are missing.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from ..errors import require
from .errors import ArchiveError
from .summary import ArchiveSummary
from .rows import arrow_schema, columns
from .walk import name_of
from .writers import parquet_files

ROUNDS = 3              # runs of the job before photos still missing are reported, not retried
MIN_BLOCK, MAX_BLOCK = 16, 1000  # rows per block (and file): small enough to spread, big enough to amortise
TORN = "_torn"          # where unreadable part files go: Parquet readers skip names starting with "_"


def classify_on_ray(photos: Sequence[str], out: Path, model, address: str, resume: bool = False,
                    progress: bool | None = None) -> ArchiveSummary:
    ray = require("ray", "--ray", "ray")
    require("ray.data", "--ray", "ray")
    require("pyarrow", "--ray", "ray")
    from ..inference import Classifier

    _check_folder(out, resume)
    clf = Classifier.load(model)  # here: a clear error for a bad model before any cluster work
    names = columns(clf.labels)
    start = time.perf_counter()
    done = set(_written(out, names)) if out.is_dir() else set()
    todo = [p for p in photos if name_of(p) not in done]
    if todo:
        owned = _connect(ray, address)
        try:
            _run_rounds(ray, todo, out, clf, progress)
        finally:
            if owned:
                ray.shutdown()
    unreadable = _unreadable(out, names, {name_of(p) for p in todo})
    return ArchiveSummary(out, "ray", len(photos), len(photos) - len(todo), len(todo), unreadable,
                          time.perf_counter() - start)


def _check_folder(out: Path, resume: bool) -> None:
    if out.suffix.lower() in (".csv", ".jsonl"):
        raise ArchiveError(f"{out}: --ray writes a folder of Parquet files; give --out a folder "
                           "(results/ or results.parquet/).")
    if out.exists() and not out.is_dir():
        raise ArchiveError(f"{out} is a file: --ray writes a folder of Parquet files; choose another --out.")
    if out.is_dir() and any(out.glob("*.parquet")) and not resume:
        raise ArchiveError(f"{out} already holds results: add --resume to continue it, or choose another --out.")


def _connect(ray, address: str) -> bool:
    """Join the cluster at ``address``; True when this call started the connection (and must end it)."""
    if ray.is_initialized():
        return False
    _reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise ArchiveError(f"no Ray cluster at {address!r} ({str(err).splitlines()[0] if str(err) else err}); "
                           "start one with 'ray start --head' or give its address (host:port).") from None
    return True


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds on a host:port where nothing listens (Ray itself retries for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not port.isdigit():
        return  # Ray finds "auto" itself, and a ray:// client address is not the GCS port
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as err:
        raise ArchiveError(f"no Ray cluster at {address} ({err.strerror or err}); start one with "
                           "'ray start --head' or give its address (host:port).") from None


def _run_rounds(ray, todo: list[str], out: Path, clf, progress: bool | None) -> None:
    """Run the job; then what the folder lacks, again, until nothing is missing."""
    context = ray.data.DataContext.get_current()
    if progress is not None:
        context.enable_progress_bars = progress
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < 1:
        raise ArchiveError("the Ray cluster has no CPUs to classify on.")
    model = ray.put(clf.path.read_bytes())
    wanted, remaining = {name_of(p) for p in todo}, todo
    for _ in range(ROUNDS):
        try:
            _run(ray, remaining, out, model, clf.labels, cpus)
        except ray.exceptions.RayError as err:  # Ray gave up on the job: the next round does what is missing
            print(f"warning: the Ray job failed ({type(err).__name__}); classifying what is missing again",
                  file=sys.stderr)
        held = _dedupe(out, columns(clf.labels))
        remaining = [p for p in remaining if name_of(p) not in held]
        if not remaining:
            return
    raise ArchiveError(f"{len(remaining)} of {len(wanted)} photos are still missing from {out} after {ROUNDS} "
                       f"rounds (first: {remaining[0]}); run again with --resume.")


def _run(ray, paths: list[str], out: Path, model, labels: Sequence[str], cpus: int) -> None:
    rows = max(MIN_BLOCK, min(MAX_BLOCK, -(-len(paths) // (4 * cpus))))  # ~4 blocks per CPU: balance
    items = [{"path": os.fsencode(os.path.abspath(p))} for p in paths]
    blocks = -(-len(paths) // rows)
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.map_batches(ClassifyBlock, fn_constructor_kwargs={"model": model, "labels": list(labels)},
                        batch_size=rows, batch_format="pyarrow", num_cpus=1,
                        compute=ray.data.ActorPoolStrategy(size=min(cpus, blocks)))  # no idle actors
    # Writing a block is light; a CPU for it would sit idle beside the actors holding every CPU.
    ds.write_parquet(str(out), ray_remote_args={"num_cpus": 0})


class ClassifyBlock:
    """One Ray actor: loads the model once, then classifies a block of paths per call."""

    def __init__(self, model, labels: list[str]):
        import ray

        from ..inference import Classifier

        data = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        with tempfile.NamedTemporaryFile(suffix=".onnx") as f:  # ONNX Runtime reads models from files
            f.write(data)
            f.flush()
            self.clf = Classifier.load(f.name, threads=1)
        self.schema = arrow_schema(labels)

    def __call__(self, batch):
        import pyarrow as pa

        from .local import classify_chunk

        paths = [os.fsdecode(p) for p in batch.column("path").to_pylist()]
        return pa.Table.from_pylist(classify_chunk(self.clf, paths), schema=self.schema)


# -- the output folder -------------------------------------------------------------------------
def _parts(out: Path) -> list[Path]:
    return sorted(out.glob("*.parquet")) if out.is_dir() else []


def _written(out: Path, names: Sequence[str]) -> list[str]:
    """Every photo the folder holds (with repeats); a part file a kill left unreadable is moved
    into ``_torn/`` (its photos are classified again), one of another model is refused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files: list[str] = []
    for part in _parts(out):
        try:
            pq.read_metadata(part)
        except (OSError, pa.ArrowException):
            (out / TORN).mkdir(exist_ok=True)
            shutil.move(part, out / TORN / part.name)
            print(f"note: {part.name} was left unfinished by an interrupted run; its photos are done again "
                  f"(moved to {out / TORN})", file=sys.stderr)
            continue
        files += parquet_files(part, names)
    return files


def _dedupe(out: Path, names: Sequence[str]) -> set[str]:
    """Remove any second copy of a photo (the first file keeps it); the photos the folder holds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    seen: set[str] = set()
    for part in _parts(out):
        keep = []
        for file in parquet_files(part, names):
            keep.append(file not in seen)
            seen.add(file)
        if not all(keep):
            tmp = part.with_name(f"_{part.name}.tmp")  # "_": readers skip it until it is renamed
            pq.write_table(pq.read_table(part).filter(pa.array(keep)), tmp)
            os.replace(tmp, part)
            print(f"note: {keep.count(False)} photos were written twice; the copies in {part.name} are removed",
                  file=sys.stderr)
    return seen


def _unreadable(out: Path, names: Sequence[str], files: set[str]) -> int:
    """How many of ``files`` have an error row."""
    import pyarrow.parquet as pq

    n = 0
    for part in _parts(out):
        table = pq.read_table(part, columns=["file", "error"])
        n += sum(f in files and e is not None for f, e in zip(table.column("file").to_pylist(),
                                                                 table.column("error").to_pylist()))
    return n
