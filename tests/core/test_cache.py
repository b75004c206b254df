"""One cache convention for every kind of derived data: never inside the data set it describes."""
import os

from cloudatlas.cache import dataset_cache_dir, file_sha256, user_cache_dir


def test_a_data_set_is_never_written_to(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOUDATLAS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    for name, mode in (("writable", 0o755), ("shared", 0o555)):
        data = tmp_path / name
        data.mkdir()
        os.chmod(data, mode)
        try:
            where = dataset_cache_dir(data)
        finally:
            os.chmod(data, 0o755)
        assert tmp_path / "home-cache" / "cloudatlas" / "datasets" in where.parents
        assert data.resolve() not in where.parents


def test_two_data_sets_of_one_name_get_two_caches(tmp_path):
    (tmp_path / "a" / "ccsn").mkdir(parents=True)
    (tmp_path / "b" / "ccsn").mkdir(parents=True)
    assert dataset_cache_dir(tmp_path / "a" / "ccsn") != dataset_cache_dir(tmp_path / "b" / "ccsn")


def test_the_environment_moves_every_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDATLAS_CACHE_DIR", str(tmp_path / "c"))
    assert user_cache_dir("views") == tmp_path / "c" / "views"
    assert (tmp_path / "c") in dataset_cache_dir(tmp_path / "data").parents


def test_file_sha256(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert file_sha256(tmp_path / "x") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
