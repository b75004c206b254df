"""Folder-per-class loading, label aliases and leak-free splits, on real CCSN photos.

A folder is its one-source recipe (``Recipe.from_folder``): its train part learns, a validation
part is carved from it, its split.csv (or an automatic split) keeps the test part aside.
"""
import csv
import shutil
from collections import defaultdict

import pytest

from cloudatlas.config import Recipe
from cloudatlas.data import DataError, assemble, scan_folder, split_of
from tests.conftest import copy_subset


def folder_parts(root, valid_frac=0.15, seed=0, conflicts="drop", split="train"):
    recipe = Recipe.from_folder(root, split=split)
    recipe.override(**{"data.valid_frac": valid_frac, "data.split_seed": seed, "data.conflicts": conflicts})
    return assemble(recipe)


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
    data = folder_parts(ccsn_dir, valid_frac=0.15, seed=0)
    with open(ccsn_dir / "split.csv") as f:
        split = {row["path"]: row["split"] for row in csv.DictReader(f)}
    left_out = [i for ids in data.left_out.values() for i in ids]
    assert len(data.test) == 513
    assert all(split[s.key] == "test" for s in data.test)
    assert all(split[s.key] == "train" for s in data.train + data.valid)
    assert len(data.train) + len(data.valid) + len(left_out) == 2030
    assert 0.12 < len(data.valid) / 2030 < 0.18


def test_no_group_straddles_train_and_validation(ccsn_dir):
    data = folder_parts(ccsn_dir, valid_frac=0.2, seed=3)
    sides = defaultdict(set)
    for side, part in (("train", data.train), ("valid", data.valid)):
        for s in part:
            sides[s.group].add(side)
    assert all(len(v) == 1 for v in sides.values())


def test_identical_photos_under_two_genera_are_left_out_of_training(ccsn_dir):
    data = folder_parts(ccsn_dir)
    outvoted = set(data.left_out["outvoted by its near-duplicates' labels"])
    kept = {s.id for s in data.train + data.valid}
    # CCSN files this very photo (train part, group 679) as both altocumulus and cirrocumulus.
    pair = {"ccsn:Ac/Ac-N013.jpg", "ccsn:Cc/Cc-N029.jpg"}
    assert pair <= outvoted and not pair & kept


def test_soft_conflicts_learn_both_labels(ccsn_dir):
    data = folder_parts(ccsn_dir, conflicts="soft")
    soft = [s for s in data.train + data.valid if s.soft]
    assert soft and all(abs(sum(p for _, p in s.soft) - 1) < 1e-6 and len(s.soft) > 1 for s in soft)


def test_automatic_split_keeps_near_duplicates_together(tmp_path, ccsn_dir):
    copy_subset(ccsn_dir, tmp_path, ["Ci", "Cu", "Ns"], 10)
    # A resized copy is a near-duplicate: it must land on the same side as its original.
    from PIL import Image
    src = sorted((tmp_path / "Cu").glob("*.jpg"))[0]
    Image.open(src).resize((200, 200)).save(tmp_path / "Cu" / "copy-small.jpg")
    data = folder_parts(tmp_path, valid_frac=0.2, seed=0, conflicts="keep")
    assert data.test and data.train and data.valid
    where = {s.path.name: part for part in ("train", "valid", "test") for s in getattr(data, part)}
    assert where[src.name] == where["copy-small.jpg"]
    # and the automatic test part never moves: the same split, asked again
    assert split_of(tmp_path) == split_of(tmp_path)


def _subset_with_split(tmp_path, ccsn_dir):
    """A small copy of CCSN (Ac, Cu, Ns) with the rows of split.csv that name its photos."""
    root = copy_subset(ccsn_dir, tmp_path / "set", ["Ac", "Cu", "Ns"], 6)
    with open(ccsn_dir / "split.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if (root / r["path"]).exists()]
        fields = reader.fieldnames
    with open(root / "split.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return root, {r["path"]: r for r in rows}


def _where(root) -> dict[str, tuple[str, str, str]]:
    """Every photo in the split: relative path -> (label, split, group)."""
    return {s.key: (s.label, s.split, s.group) for s in split_of(root)}


def test_a_photo_relabelled_in_the_cleaner_keeps_its_split_and_group(tmp_path, ccsn_dir):
    import httpx

    from cloudatlas.clean.guard import TOKEN_HEADER
    from tests.clean.cleaner_fixtures import live_cleaner

    root, rows = _subset_with_split(tmp_path, ccsn_dir)
    test_photo = next(p for p, r in rows.items() if p.startswith("Ac/") and r["split"] == "test")  # Ac/Ac-N002.jpg
    train_photo = next(p for p, r in rows.items() if p.startswith("Ac/") and r["split"] == "train")
    name = test_photo.split("/")[1]
    # A photo added to Cu after the split was fixed, under the same file name: the moved photo
    # gets "-1" added to its name, and the newcomer must not take its row.
    shutil.copy2(ccsn_dir / "Cu" / "Cu-N010.jpg", root / "Cu" / name)
    before = _where(root)
    assert len(before) == len(rows) and f"Cu/{name}" not in before

    with live_cleaner(root) as (url, token), httpx.Client(base_url=url, headers={TOKEN_HEADER: token}) as c:
        ids = {v["path"]: v["id"] for v in c.get("/api/state").json()["items"]}
        for photo, label in ((test_photo, "Cu"), (train_photo, "Ns")):
            c.post(f"/api/items/{ids[photo]}/move", json={"label": label}).raise_for_status()
    moved_test = f"Cu/{name.replace('.jpg', '-1.jpg')}"
    moved_train = "Ns/" + train_photo.split("/")[1]
    assert (root / moved_test).exists() and (root / moved_train).exists()

    after = _where(root)
    assert len(after) == len(rows)  # no photo dropped out of the benchmark
    assert after[moved_test] == ("Cu", "test", before[test_photo][2])  # new label, same split and group
    assert after[moved_train] == ("Ns", "train", before[train_photo][2])
    assert f"Cu/{name}" not in after  # the newcomer is still not part of the split
    assert {k: v for k, v in after.items() if k not in (moved_test, moved_train)} == \
           {k: v for k, v in before.items() if k not in (test_photo, train_photo)}


def test_a_photo_moved_by_hand_is_found_by_its_unique_file_name(tmp_path, ccsn_dir):
    root, rows = _subset_with_split(tmp_path, ccsn_dir)
    before = _where(root)
    shutil.move(root / "Cu" / "Cu-N005.jpg", root / "Ns" / "Cu-N005.jpg")
    # Two photos now share a name that was one row: neither can be told to be the one in the split.
    shutil.move(root / "Cu" / "Cu-N006.jpg", root / "Ac" / "Cu-N006.jpg")
    shutil.copy2(root / "Ac" / "Cu-N006.jpg", root / "Ns" / "Cu-N006.jpg")
    after = _where(root)
    assert after["Ns/Cu-N005.jpg"] == ("Ns", "test", before["Cu/Cu-N005.jpg"][2])
    assert "Ac/Cu-N006.jpg" not in after and "Ns/Cu-N006.jpg" not in after
