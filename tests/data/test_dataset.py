"""Folder-per-class loading, label aliases and leak-free splits, on real CCSN photos."""
import csv
from collections import defaultdict

import pytest

from cloudatlas.data import DataError, load_split, scan_folder
from tests.conftest import copy_subset


def test_folder_names_and_codes_map_to_one_label(tmp_path, ccsn_dir):
    copy_subset(ccsn_dir, tmp_path, ["Cu"], 3)
    (tmp_path / "Cu").rename(tmp_path / "cumulus")
    copy_subset(ccsn_dir, tmp_path, ["Ci"], 2)
    (tmp_path / "Ci").rename(tmp_path / "CI")
    (tmp_path / "cumulus" / "notes.txt").write_text("not a photo")
    samples = scan_folder(tmp_path)
    assert sorted({s.label for s in samples}) == ["Ci", "Cu"]
    assert len(samples) == 5  # the .txt file is not a photo


def test_empty_folder_gets_a_clear_message(tmp_path):
    with pytest.raises(DataError, match="no photos found"):
        scan_folder(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        scan_folder(tmp_path / "missing")


def test_split_csv_is_respected_and_validation_comes_from_train(ccsn_dir):
    data = load_split(ccsn_dir, "train", valid_frac=0.15, seed=0)
    with open(ccsn_dir / "split.csv") as f:
        split_of = {row["path"]: row["split"] for row in csv.DictReader(f)}
    assert len(data.test) == 513
    assert all(split_of[s.key] == "test" for s in data.test)
    assert all(split_of[s.key] == "train" for s in data.train + data.valid + data.dropped)
    assert len(data.train) + len(data.valid) + len(data.dropped) == 2030
    assert 0.12 < len(data.valid) / 2030 < 0.18


def test_no_group_straddles_train_and_validation(ccsn_dir):
    data = load_split(ccsn_dir, "train", valid_frac=0.2, seed=3)
    sides = defaultdict(set)
    for side, part in (("train", data.train), ("valid", data.valid)):
        for s in part:
            sides[s.group].add(side)
    assert all(len(v) == 1 for v in sides.values())


def test_identical_photos_under_two_genera_are_left_out_of_training(ccsn_dir):
    data = load_split(ccsn_dir, "train")
    dropped = {s.key for s in data.dropped}
    kept = {s.key for s in data.train + data.valid}
    # CCSN files this very photo as both altocumulus and cirrocumulus (same group in split.csv).
    pair = {"Ac/Ac-N013.jpg", "Cc/Cc-N029.jpg"}
    in_train = pair & (dropped | kept)
    if in_train:
        assert in_train <= dropped


def test_automatic_split_keeps_near_duplicates_together(tmp_path, ccsn_dir):
    copy_subset(ccsn_dir, tmp_path, ["Ci", "Cu", "Ns"], 10)
    # A resized copy is a near-duplicate: it must land on the same side as its original.
    from PIL import Image
    src = sorted((tmp_path / "Cu").glob("*.jpg"))[0]
    Image.open(src).resize((200, 200)).save(tmp_path / "Cu" / "copy-small.jpg")
    data = load_split(tmp_path, "train", valid_frac=0.2, seed=0)
    assert data.test and data.train and data.valid
    where = {s.path.name: part for part in ("train", "valid", "test", "dropped")
             for s in getattr(data, part)}
    assert where[src.name] == where["copy-small.jpg"]
