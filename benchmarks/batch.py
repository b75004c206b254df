"""Archive throughput: photos/s of the local engine with 1 and 2 workers and of Ray with one and
two one-CPU nodes (a real cluster on 127.0.0.1), all on the same photos; Ray's cost per photo;
the training step time of `cloudatlas train --nproc` 1 and 2 (gloo).

    .venv/bin/python benchmarks/batch.py [--photos 2000] [--model PATH] [--skip-ray] [--skip-local] [--skip-train] [--only-train]

Every figure is end to end, as a user sees it: from the command to the last row on disk,
start-up included (loading the model, starting worker processes or Ray actors). "One core" is
the per-core rate the arithmetic for a million photos starts from: one process, one ONNX Runtime
thread, no writing. Ray's overhead per photo is its one-node time per photo minus that. The
machine's load average is printed too: figures taken beside other work are slower than on an
idle machine.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from _common import CCSN, ROOT

sys.path.insert(0, str(ROOT))  # tests.archive.cluster (a real Ray cluster on 127.0.0.1), tests.conftest.copy_subset


CORE = "one core (1 process, 1 thread, no writing)"
SMALL = 16  # photos of the job that measures Ray's start-up: one block


def photos_of(n: int) -> list[str]:
    photos = sorted(str(p) for p in CCSN.glob("*/*.jpg"))[:n]
    if len(photos) < n:
        sys.exit(f"only {len(photos)} photos in {CCSN}; ask for fewer with --photos")
    return photos


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(photos: list[str], job) -> tuple[float, float]:
    """Photos/s of ``job()``, and its CPU milliseconds per photo: on a busy machine the CPU time
    says what the engine costs, the wall time also what the other work took from it."""
    start, cpu = time.perf_counter(), cpu_seconds()
    job()
    wall = time.perf_counter() - start
    time.sleep(1)  # let the worker processes be reaped, so their CPU time counts
    return len(photos) / wall, (cpu_seconds() - cpu) * 1000 / len(photos)


def one_core(photos: list[str], model) -> tuple[float, float]:
    """One process with one thread: decode + network, nothing written."""
    from cloudatlas import Classifier
    from cloudatlas.archive.local import classify_local

    clf = Classifier.load(model, threads=1)
    return measured(photos, lambda: [None for _ in classify_local(clf, photos, workers=1)])


def local(photos: list[str], model, workers: int) -> tuple[float, float]:
    from cloudatlas.archive import classify_archive

    with tempfile.TemporaryDirectory() as tmp:
        return measured(photos, lambda: classify_archive(photos, Path(tmp) / "results.parquet", model=model,
                                                         workers=workers, progress=False))


def on_ray(photos: list[str], model, nodes: int) -> tuple[float, float]:
    """Photos/s of the whole job, and the seconds of a job of one small block: Ray's start-up
    (joining the cluster, planning, starting the actors, each loading the model)."""
    from cloudatlas.archive import classify_archive
    from tests.archive.cluster import LocalCluster

    with LocalCluster(nodes=nodes, cpus=1) as cluster, tempfile.TemporaryDirectory() as tmp:
        # The first job of a new cluster also starts Ray's own actors: not a cost of every job.
        classify_archive(photos[:SMALL], Path(tmp) / "warm-up", model=model, ray=cluster.address, progress=False)
        start = time.perf_counter()
        classify_archive(photos[:SMALL], Path(tmp) / "small", model=model, ray=cluster.address, progress=False)
        small = time.perf_counter() - start
        start = time.perf_counter()
        classify_archive(photos, Path(tmp) / "results", model=model, ray=cluster.address, progress=False)
        return len(photos) / (time.perf_counter() - start), small


STEP_LABELS, STEP_PER_LABEL, STEP_BATCH = ["Ci", "Cu", "Ns", "Sc"], 48, 32


def training_step_times(epochs: int = 3) -> dict[str, float]:
    """Seconds per training step of ``cloudatlas train --nproc N`` for N = 1 and 2 (gloo on this
    CPU): a full fine-tune (nothing frozen or cached, so every step is forward + backward of the
    whole network) of 192 CCSN photos at 128 px, the same global batch of 32 and seed. A step's
    time is an epoch's seconds over its steps, the first epoch (start-up, head only) left out."""
    import csv
    import math
    import subprocess

    from tests.conftest import copy_subset

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = copy_subset(CCSN, Path(tmp) / "data", STEP_LABELS, STEP_PER_LABEL)
        n_train = round(len(STEP_LABELS) * STEP_PER_LABEL * 0.9)
        steps = math.ceil(n_train / STEP_BATCH)
        for nproc in (1, 2):
            run = Path(tmp) / f"run-{nproc}"
            env = {**os.environ, "CLOUDATLAS_CACHE_DIR": str(Path(tmp) / "cache")}
            env.pop("OMP_NUM_THREADS", None)  # each process takes its share of the cores
            proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", "--data", str(data), "--out", str(run),
                                   "--nproc", str(nproc), "--img-size", "128", "--freeze-to", "0", "--epochs",
                                   str(epochs), "--freeze-epochs", "1", "--batch-size", str(STEP_BATCH),
                                   "--valid-frac", "0.1", "--seed", "0"],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"train --nproc {nproc} failed:\n{proc.stderr[-2000:]}")
            with open(run / "metrics.csv") as f:
                seconds = [float(r["seconds"]) for r in csv.DictReader(f)][1:]
            out[f"{nproc} process" + ("es" if nproc > 1 else "")] = sorted(seconds)[len(seconds) // 2] / steps
    return out


def print_training_steps() -> None:
    steps = training_step_times()
    for name, seconds in steps.items():
        print(f"training step (global batch {STEP_BATCH}, 128 px, full fine-tune), {name}: {seconds * 1000:.0f} ms",
              flush=True)
    one, two = steps.values()
    print(f"  2 processes: {one / two:.2f}x the steps per second of 1 (gloo, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--model")
    ap.add_argument("--skip-ray", action="store_true", help="no Ray figures")
    ap.add_argument("--skip-local", action="store_true", help="no local-engine figures (one core is always measured)")
    ap.add_argument("--skip-train", action="store_true", help="no training step times (cloudatlas train --nproc 1 and 2)")
    ap.add_argument("--only-train", action="store_true", help="only the training step times")
    args = ap.parse_args()
    if args.only_train:
        return print_training_steps()
    photos = photos_of(args.photos)
    print(f"{len(photos)} CCSN photos, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start",
          flush=True)
    runs = [(CORE, lambda: one_core(photos, args.model))]
    if not args.skip_local:
        runs += [("local, 1 worker (threads)", lambda: local(photos, args.model, 1)),
                 ("local, 2 workers (processes)", lambda: local(photos, args.model, 2))]
    if not args.skip_ray:
        runs += [("ray, 1 node x 1 CPU", lambda: on_ray(photos, args.model, 1)),
                 ("ray, 2 nodes x 1 CPU", lambda: on_ray(photos, args.model, 2))]
    rates, extra = {}, {}
    for name, run in runs:
        rates[name], extra[name] = run()
        more = f"   start-up {extra[name]:.1f} s" if name.startswith("ray") else f"   {extra[name]:.0f} ms CPU/photo"
        print(f"  {name:<44} {rates[name]:6.1f} photos/s{more}", flush=True)
    core = rates[CORE]
    if "ray, 1 node x 1 CPU" in rates:
        work = 1000 / core
        whole = 1000 / rates["ray, 1 node x 1 CPU"] - work
        fixed = extra["ray, 1 node x 1 CPU"] - SMALL / core
        steady = (1000 / rates["ray, 1 node x 1 CPU"] * len(photos) - fixed * 1000) / len(photos) - work
        print(f"ray's overhead on one node: {whole:.1f} ms per photo over {len(photos)} photos; of it, "
              f"{fixed:.1f} s of start-up per job and {steady:.1f} ms per photo beyond the {work:.1f} ms "
              "of work on one core")
    for nodes in (10, 100):
        print(f"a million photos on {nodes} nodes of 16 cores at the one-core rate: "
              f"{1e6 / (core * 16 * nodes) / 60:.1f} min")
    if not args.skip_train:
        print_training_steps()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":  # the local engine's worker processes import this file again
    main()
