"""One cache convention for every kind of derived data."""
import os

from cloudatlas.cache import STATE_DIR, dataset_cache_dir, file_sha256, user_cache_dir


def test_a_writable_data_set_keeps_its_cache_inside(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOUDATLAS_CACHE_DIR", raising=False)
    assert dataset_cache_dir(tmp_path) == tmp_path.resolve() / STATE_DIR


def test_a_read_only_data_set_is_never_written_to(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOUDATLAS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    data = tmp_path / "shared"
    data.mkdir()
    os.chmod(data, 0o555)
    try:
        where = dataset_cache_dir(data)
    finally:
        os.chmod(data, 0o755)
    assert tmp_path / "home-cache" / "cloudatlas" / "datasets" in where.parents


def test_the_environment_moves_every_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDATLAS_CACHE_DIR", str(tmp_path / "c"))
    assert user_cache_dir("views") == tmp_path / "c" / "views"
    assert (tmp_path / "c") in dataset_cache_dir(tmp_path / "data").parents


def test_file_sha256(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert file_sha256(tmp_path / "x") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
