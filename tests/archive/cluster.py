"""A real Ray cluster on 127.0.0.1 for the tests and the benchmark: one-CPU nodes, each a
``ray start --block`` in its own session, so every process a node starts is found (its process
tree) and stopped, even after a failed test; ``ray stop`` would stop other people's clusters too."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..conftest import free_port

RAY = Path(sys.executable).with_name("ray")
STARTED = "Ray runtime started"


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, it names one process, so a
    pid the system hands to someone else's process later is never signalled."""
    stat = _stat(pid)
    return stat[19] if stat and stat[0] != "Z" else None


class LocalCluster:
    """``with LocalCluster(nodes=2) as cluster: ... cluster.address ... cluster.kill_node(1)``"""

    def __init__(self, nodes: int = 2, cpus: int = 1, object_store_mb: int = 150):
        self.nodes, self.cpus, self.object_store = nodes, cpus, object_store_mb * 1_000_000
        # Unix socket paths live under the temp dir and must stay under 108 bytes: a short one.
        self.root = Path(tempfile.mkdtemp(prefix="ca-ray-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.known: list[dict[int, str]] = []  # every process seen of each node (pid -> start time)

    def __enter__(self) -> "LocalCluster":
        try:
            self._node(["--head", "--port", str(self.port), "--include-dashboard=false"])
            for _ in range(self.nodes - 1):
                self._node(["--address", self.address])
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _node(self, args: list[str], timeout: float = 90) -> None:
        n = len(self.procs)
        temp = self.root / f"n{n}"
        log = open(self.root / f"n{n}.log", "wb")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        proc = subprocess.Popen(
            [str(RAY), "start", "--block", "--node-ip-address", "127.0.0.1", "--num-cpus", str(self.cpus),
             "--object-store-memory", str(self.object_store), "--temp-dir", str(temp), "--disable-usage-stats",
             *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.procs.append(proc)
        self.known.append({})
        deadline = time.time() + timeout
        while STARTED not in (self.root / f"n{n}.log").read_text(errors="replace"):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"ray node {n} did not start:\n" + (self.root / f"n{n}.log").read_text()[-3000:])
            time.sleep(0.3)
        self._remember(n)

    def _remember(self, n: int) -> list[int]:
        """Node ``n``'s processes still alive (the ones seen before included: a worker whose
        raylet died is no longer below the node's first process)."""
        if self.procs[n].poll() is None:
            for pid in descendants(self.procs[n].pid):
                self.known[n].setdefault(pid, started_at(pid))
        return [pid for pid, start in self.known[n].items() if start is not None and started_at(pid) == start]

    def processes(self, n: int) -> dict[int, str]:
        """The live processes of node ``n``: pid -> command line."""
        return {pid: command_of(pid) for pid in self._remember(n)}

    def kill_node(self, n: int) -> dict[int, str]:
        """SIGKILL every process of node ``n`` at once, as when its machine dies; what was killed."""
        victims = self.processes(n)
        for pid in victims:
            _signal(pid, signal.SIGKILL)
        return victims

    def stop(self) -> None:
        """Stop every node, newest first: SIGTERM, then SIGKILL what is left; remove the temp dirs."""
        for n in reversed(range(len(self.procs))):
            pids = self._remember(n)
            for pid in pids:
                _signal(pid, signal.SIGTERM)
            deadline = time.time() + 3  # what has not left by then gets SIGKILL
            while self._remember(n) and time.time() < deadline:
                time.sleep(0.2)
            for pid in self._remember(n):
                _signal(pid, signal.SIGKILL)
            self.procs[n].wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
