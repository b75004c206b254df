"""The Ray engine on a real two-node Ray cluster on 127.0.0.1: the local engine's rows, resume,
and a worker node killed in the middle of a run."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cluster import LocalCluster, free_port
from .helpers import assert_same_rows, broken_files, by_file, read_results

CLI = [sys.executable, "-m", "cloudatlas", "predict"]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(nodes=2, cpus=1) as c:  # stopped (every process of it) even when a test fails
        yield c


@pytest.fixture(scope="module")
def ray_archive(tmp_path_factory, ccsn_test_photos) -> Path:
    """Every CCSN test photo (512, linked into a folder per genus) and five unreadable files."""
    root = tmp_path_factory.mktemp("ray-archive")
    for label, photos in ccsn_test_photos.items():
        (root / label).mkdir()
        for photo in photos:
            (root / label / photo.name).symlink_to(photo)
    broken_files(root / "broken", ccsn_test_photos["Cu"][0])
    return root


@pytest.fixture(scope="module")
def local_rows(ray_archive, tmp_path_factory) -> dict:
    from cloudatlas.archive import classify_archive

    out = tmp_path_factory.mktemp("local") / "results.parquet"
    classify_archive([ray_archive], out, workers=2, progress=False)
    return by_file(read_results(out))


@pytest.fixture(scope="module")
def ray_result(cluster, ray_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("ray") / "results"
    proc = subprocess.run([*CLI, ray_archive, "--out", out, "--ray", cluster.address], capture_output=True, text=True)
    return out, proc


def test_ray_rows_equal_the_local_engines(ray_result, local_rows, ccsn_test_photos):
    out, proc = ray_result
    photos = sum(map(len, ccsn_test_photos.values())) + 5
    assert proc.returncode == 1, proc.stderr[-3000:]  # five photos cannot be read
    assert f"{photos} photos classified" in proc.stderr and "(5 unreadable)" in proc.stderr
    assert len(local_rows) == photos >= 500
    assert len(list(out.glob("*.parquet"))) > 2  # a file per block, read back as one table
    assert_same_rows(by_file(read_results(out)), local_rows)


def test_ray_resume_classifies_only_what_is_missing(cluster, ray_result, ray_archive, local_rows, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(ray_result[0], out)
    parts = sorted(out.glob("*.parquet"))
    lost = len(read_results(parts[0]))
    parts[0].unlink()
    (out / "zz-killed-mid-write.parquet").write_bytes(b"PAR1 and then nothing")
    proc = subprocess.run([*CLI, ray_archive, "--out", out, "--ray", cluster.address, "--resume"],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert f"{lost} photos classified" in proc.stderr and f"{len(local_rows) - lost} already there" in proc.stderr
    assert (out / "_torn" / "zz-killed-mid-write.parquet").exists()
    assert_same_rows(by_file(read_results(out)), local_rows)


def test_a_worker_node_killed_mid_run_loses_and_repeats_nothing(cluster, ray_archive, local_rows, tmp_path):
    folders = sorted(p for p in ray_archive.iterdir() if p.is_dir())[:4]  # about a third of the photos
    want = {f: row for f, row in local_rows.items() if any(f.startswith(f"{d}/") for d in folders)}
    out = tmp_path / "results"
    proc = subprocess.Popen([*CLI, *folders, "--out", out, "--ray", cluster.address],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while not (list(out.glob("*.parquet")) and any("MapWorker" in c for c in cluster.processes(1).values())):
            assert proc.poll() is None, f"finished before the node could be killed:\n{proc.stderr.read()[-3000:]}"
            assert time.time() < deadline, "the job never got going"
            time.sleep(0.1)
        files_at_kill = len(list(out.glob("*.parquet")))
        killed = cluster.kill_node(1)
        stderr = proc.communicate(timeout=300)[1]
    finally:
        proc.kill()
    assert any("MapWorker" in c for c in killed.values()) and any("raylet" in c for c in killed.values())
    assert proc.returncode in (0, 1), stderr[-3000:]
    assert len(list(out.glob("*.parquet"))) > files_at_kill  # it was killed in the middle
    assert_same_rows(by_file(read_results(out)), want)   # every photo once, the local engine's rows


BLOCKED = "import sys; sys.modules[{module!r}] = None; from cloudatlas.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("module,out,flags,extra", [("ray", "results", ["--ray", "auto"], "ray"),
                                                     ("pyarrow", "results.parquet", [], "parquet")])
def test_a_missing_extra_is_named_in_one_line(tmp_path, ccsn_dir, module, out, flags, extra):
    proc = subprocess.run([sys.executable, "-c", BLOCKED.format(module=module), "predict",
                           str(ccsn_dir / "Cu" / "Cu-N001.jpg"), "--out", str(tmp_path / out), *flags],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and f"pip install 'cloudatlas[{extra}]'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_address_where_no_cluster_listens_fails_in_seconds(tmp_path, ccsn_dir):
    start = time.time()
    proc = subprocess.run([*CLI, ccsn_dir / "Cu" / "Cu-N001.jpg", "--out", tmp_path / "r", "--ray",
                           f"127.0.0.1:{free_port()}"], capture_output=True, text=True)
    assert proc.returncode == 2 and "no Ray cluster at 127.0.0.1:" in proc.stderr, proc.stderr
    assert time.time() - start < 60 and "Traceback" not in proc.stderr


def test_ray_wants_a_folder_not_a_csv(tmp_path, ccsn_dir):
    proc = subprocess.run([*CLI, ccsn_dir / "Cu" / "Cu-N001.jpg", "--out", tmp_path / "r.csv", "--ray", "auto"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--ray writes a folder of Parquet files" in proc.stderr


def test_predict_without_ray_never_imports_ray(tmp_path, ccsn_dir):
    code = ("import sys; from cloudatlas.cli import main; "
            f"main(['predict', {str(ccsn_dir / 'Cu' / 'Cu-N001.jpg')!r}, '--out', {str(tmp_path / 'r.parquet')!r}]); "
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env={**os.environ})


def test_photos_a_failed_round_missed_are_done_again_and_copies_removed(tmp_path, clf, monkeypatch):
    """Beyond what Ray retries itself: the driver's own check of the folder after each round."""
    import types

    import pyarrow as pa
    import pyarrow.parquet as pq

    from cloudatlas.archive import ray_engine, row_of
    from cloudatlas.archive.rows import arrow_schema

    class RayError(Exception):
        pass

    paths = [f"/a/{i}.jpg" for i in range(10)]
    calls = []

    def run(ray, todo, out, model, labels, cpus):  # round 1: two blocks, one photo twice, then Ray gives up
        calls.append(list(todo))
        out.mkdir(exist_ok=True)
        rows = [row_of(p, FileNotFoundError("gone"), labels) for p in todo]
        block = rows[:4] if len(calls) == 1 else rows
        pq.write_table(pa.Table.from_pylist(block, schema=arrow_schema(labels)), out / f"{len(calls)}-a.parquet")
        if len(calls) == 1:
            pq.write_table(pa.Table.from_pylist(rows[3:5], schema=arrow_schema(labels)), out / "1-b.parquet")
            raise RayError("node lost")

    fake = types.SimpleNamespace(
        data=types.SimpleNamespace(DataContext=types.SimpleNamespace(get_current=lambda: types.SimpleNamespace())),
        cluster_resources=lambda: {"CPU": 2.0}, put=lambda data: data,
        exceptions=types.SimpleNamespace(RayError=RayError))
    monkeypatch.setattr(ray_engine, "_run", run)
    ray_engine._run_rounds(fake, paths, tmp_path / "out", clf, None)
    assert calls == [paths, paths[5:]]
    files = [r["file"] for r in read_results(tmp_path / "out")]
    assert sorted(files) == sorted(paths)  # every photo, once
