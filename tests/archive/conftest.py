"""Fixtures of the archive tests: a small real archive (CCSN test photos in nested folders, with
broken files) and the answers the Python API gives for it."""
from __future__ import annotations

import pytest

from .helpers import archive_tree, expected_rows


@pytest.fixture(scope="session")
def clf():
    from cloudatlas import Classifier

    return Classifier.load()


@pytest.fixture(scope="session")
def test_photos(ccsn_test_photos) -> list:
    """Every CCSN test photo, sorted (512): none of them trained the bundled model."""
    return sorted(p for paths in ccsn_test_photos.values() for p in paths)


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory, test_photos):
    """(root, photos the walk must find): 48 photos of every genus in three levels of folders,
    five broken files, a hidden folder and a text file."""
    root = tmp_path_factory.mktemp("archive")
    return root, archive_tree(root, test_photos[::len(test_photos) // 48][:48])


@pytest.fixture(scope="session")
def small_expected(clf, small_archive) -> dict:
    return expected_rows(clf, small_archive[1])


@pytest.fixture(scope="session")
def medium_archive(tmp_path_factory, test_photos):
    """Like ``small_archive`` with 160 photos: a run long enough (several seconds even on a fast
    machine) that an interrupt a moment after it starts always lands in the middle of it."""
    root = tmp_path_factory.mktemp("medium-archive")
    return root, archive_tree(root, test_photos[::3][:160])


@pytest.fixture(scope="session")
def medium_expected(clf, medium_archive) -> dict:
    return expected_rows(clf, medium_archive[1])
