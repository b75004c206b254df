"""Finding an archive's photos: recursion, hidden folders, suffixes, patterns, repeats."""
import os

import pytest

from cloudatlas.archive import ArchiveError, find_photos, name_of


def test_folders_are_walked_recursively_and_hidden_or_other_files_skipped(small_archive):
    root, photos = small_archive
    found = find_photos([root])
    assert sorted(found) == sorted(map(str, photos))
    assert not any("/.trash/" in f or f.endswith(".txt") for f in found)
    assert any("/deep/" in f for f in found)


def test_walk_order_is_stable_and_every_photo_appears_once(small_archive):
    root, photos = small_archive
    first = find_photos([root, root / "cam0", str(photos[3])])  # the same photos named three ways
    assert first == find_photos([root])
    assert len(set(first)) == len(first)


def test_a_file_named_explicitly_is_taken_whatever_its_suffix(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    missing = tmp_path / "gone.jpg"
    assert find_photos([notes, missing]) == [str(notes), str(missing)]  # each gets a row saying why


def test_glob_patterns_expand_and_a_pattern_without_match_is_an_error(small_archive):
    root, photos = small_archive
    matched = find_photos([f"{root}/cam1/**/*.jpg"])
    assert matched and all(f.startswith(f"{root}/cam1/") for f in matched)
    assert set(matched) == {str(p) for p in photos if str(p).startswith(f"{root}/cam1/")}
    with pytest.raises(ArchiveError, match="no file or folder matches"):
        find_photos([f"{root}/nowhere/*.jpg"])


def test_names_are_absolute_and_survive_bytes_that_are_not_utf8(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert name_of("a/b.jpg") == str(tmp_path / "a" / "b.jpg")
    odd = os.fsdecode(b"sky-\xff.jpg")
    assert name_of(odd).endswith("sky-\\xff.jpg")
    name_of(odd).encode("utf-8")  # writable as text
