"""The local engine for real: the CLI and the API in subprocesses, worker processes, kill -9, Ctrl-C."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudatlas.archive import ArchiveError
from cloudatlas.archive.local import _Pool

from . import crashy
from .cluster import descendants, started_at
from .helpers import assert_same_rows, by_file, read_results

CLI = [sys.executable, "-m", "cloudatlas", "predict"]


def written(out: Path) -> int:
    """Rows on disk so far (a Parquet run counts its finished parts)."""
    if out.suffix == ".parquet":
        parts = out.with_name(out.name + ".parts")
        return sum(1 for _ in parts.glob("part-*.parquet")) if parts.is_dir() else 0
    return max(0, len(out.read_bytes().splitlines()) - (out.suffix == ".csv")) if out.exists() else 0


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"finished before it could be interrupted:\n{proc.stderr.read()}"
        assert time.time() < deadline, "no progress"
        time.sleep(0.05)


@pytest.mark.parametrize("suffix,workers", [(".parquet", 2), (".csv", 1), (".jsonl", 2)])
def test_every_format_holds_the_answers_of_the_python_api(tmp_path, small_archive, small_expected, suffix, workers):
    root, photos = small_archive
    out = tmp_path / f"results{suffix}"
    proc = subprocess.run([*CLI, root, "--out", out, "--workers", str(workers)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # five photos cannot be read
    assert f"{len(photos)} photos classified into {out} (5 unreadable)" in proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_results(out)
    assert [r["file"] for r in rows] == sorted((r["file"] for r in rows), key=rows_order(root))
    got = by_file(rows)
    assert_same_rows(got, small_expected)
    errors = {Path(f).name: r["error"] for f, r in got.items() if r["error"]}
    assert set(errors) == {"notes.jpg", "cut.jpg", "empty.png", "page.webp", "noise.jpeg"}
    assert "text file" in errors["notes.jpg"] and "truncated" in errors["cut.jpg"]
    assert "empty" in errors["empty.png"] and "HTML page" in errors["page.webp"]
    assert all(r["p_Cu"] is None and r["label"] is None for r in got.values() if r["error"])
    assert all(r["label"] and r["verdict"] and r["confidence"] and r["level"] for r in got.values() if not r["error"])


def rows_order(root: Path):
    """The walk's order: a folder's files, then its sub-folders, each sorted."""
    from cloudatlas.archive import find_photos
    from cloudatlas.archive.walk import name_of

    order = {name_of(p): i for i, p in enumerate(find_photos([root]))}
    return order.__getitem__


KILLABLE = """
import sys
from cloudatlas.archive import classify_archive
classify_archive([sys.argv[1]], sys.argv[2], workers=2, flush_seconds=0.2, progress=False)
"""


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_resume_after_kill_9_writes_every_photo_once(tmp_path, medium_archive, medium_expected, suffix):
    # The medium archive: the small one could finish (and a Parquet run merge its parts away)
    # between the first rows on disk and the kill on a loaded machine.
    root, photos = medium_archive
    out = tmp_path / f"results{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, root, out], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(descendants(proc.pid)) >= 3, proc)  # the parent and its two workers
        family = {pid: started_at(pid) for pid in descendants(proc.pid)}
        wait_for(lambda: written(out) > 0, proc)
        proc.kill()  # at once: nothing slow between the first rows and the kill
        proc.wait()
    finally:
        proc.kill()
    before = read_results(out.with_name(out.name + ".parts") if suffix == ".parquet" else out)
    assert 0 < len(before) < len(photos)
    deadline = time.time() + 15  # workers notice their parent died and leave
    while any(started_at(pid) == start for pid, start in family.items()) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(started_at(pid) == start for pid, start in family.items()), "orphaned worker processes"

    resumed = subprocess.run([*CLI, root, "--out", out, "--resume", "--workers", "1"], capture_output=True, text=True)
    assert resumed.returncode in (0, 1), resumed.stderr
    assert f"({sum(1 for r in before if r['error'])} photos" not in resumed.stderr
    assert f"{len(before)} already there" in resumed.stderr
    assert_same_rows(by_file(read_results(out)), medium_expected)  # every photo, once


def test_ctrl_c_keeps_what_is_done_and_resume_finishes(tmp_path, medium_archive, medium_expected):
    """Parquet, whose parts must be merged into one file on the way out."""
    root, photos = medium_archive
    out = tmp_path / "results.parquet"
    # A process that starts with SIGINT ignored keeps it ignored (some module of the suite leaves
    # pytest's own SIGINT ignored), so the command starts as from a terminal: SIGINT is Ctrl-C.
    proc = subprocess.Popen([*CLI, root, "--out", out, "--workers", "2"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: len(descendants(proc.pid)) >= 3, proc)  # nothing shows before the first part:
    time.sleep(0.5)  # wait for the workers, then a little work (160 photos take 4 s and more)
    proc.send_signal(signal.SIGINT)
    stderr = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, stderr
    assert "Interrupted." in stderr and "Traceback" not in stderr
    assert not out.with_name(out.name + ".parts").exists()  # whole: one file, no parts left
    before = read_results(out)
    assert len(before) < len(photos)
    subprocess.run([*CLI, root, "--out", out, "--resume", "--workers", "1"], capture_output=True, check=False)
    assert_same_rows(by_file(read_results(out)), medium_expected)


def test_a_photo_that_kills_its_worker_costs_only_its_own_row(tmp_path):
    paths = [f"/a/{i:02d}.jpg" for i in range(40)]
    paths[13] = "/a/crash.jpg"
    chunks = [paths[i:i + 4] for i in range(0, len(paths), 4)]
    rows = [r for chunk in _Pool(2, crashy.start, (), crashy.work, crashy.crashed).map(chunks) for r in chunk]
    assert [r["file"] for r in rows] == paths  # in order, each once
    assert [r["file"] for r in rows if r["error"]] == ["/a/crash.jpg"]


def test_workers_that_cannot_start_stop_the_job_with_a_message():
    pool = _Pool(2, crashy.cannot_start, (), crashy.work, crashy.crashed)
    with pytest.raises(ArchiveError, match="die before classifying any photo"):
        list(pool.map([["/a/1.jpg"], ["/a/2.jpg"]]))
