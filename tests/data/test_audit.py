"""The audit on a tiny set built here (every kind of problem planted) and on the real CCSN."""
from __future__ import annotations

import hashlib
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from cloudatlas.cli import main
from cloudatlas.data.audit import audit, write_html
from cloudatlas.data.dataset import scan_folder
from cloudatlas.data.hashes import photo_groups
from cloudatlas.data.phash import hamming_pairs
from cloudatlas.errors import DataError

from .tools_fixtures import cache_env, copy_photo  # noqa: F401  (fixtures)


@pytest.fixture
def planted(tmp_path, ccsn_dir):
    """Cu: 3 photos + a truncated JPEG + an exact copy; Ci: 2 photos + a resized copy of a Cu photo,
    a tiny image and a text file; cumulus/ (an alias of Cu) with one more photo."""
    root = tmp_path / "planted"
    cu = sorted((ccsn_dir / "Cu").glob("*.jpg"))[:3]
    ci = sorted((ccsn_dir / "Ci").glob("*.jpg"))[:2]
    for p in cu:
        copy_photo(p, root / "Cu" / p.name)
    for p in ci:
        copy_photo(p, root / "Ci" / p.name)
    data = cu[0].read_bytes()
    (root / "Cu" / "broken.jpg").write_bytes(data[: len(data) // 2])
    copy_photo(cu[1], root / "Cu" / "copy.jpg")
    with Image.open(cu[2]) as img:
        img.convert("RGB").resize((300, 300)).save(root / "Ci" / "resized.jpg", quality=80)
    Image.new("RGB", (40, 30), (90, 140, 200)).save(root / "Ci" / "tiny.png")
    (root / "Ci" / "notes.txt").write_text("not a photo")
    copy_photo(sorted((ccsn_dir / "Cu").glob("*.jpg"))[5], root / "cumulus" / "extra.jpg")
    return root, [p.name for p in cu]


def test_audit_finds_every_planted_problem(planted, cache_env, tmp_path):
    root, (a, b, c) = planted
    report = audit(root)

    assert report.n_images == 10  # Cu: 3 + broken + copy + cumulus/extra; Ci: 2 + resized + tiny
    assert report.counts == {"Ci": 4, "Cu": 6}
    assert [p.path for p in report.unreadable] == ["Cu/broken.jpg"]
    assert "truncated" in report.unreadable[0].reason
    assert [p.path for p in report.non_photo] == ["Ci/notes.txt"]
    assert [p.path for p in report.tiny] == ["Ci/tiny.png"]
    assert "40x30" in report.tiny[0].reason

    assert [sorted(g.files) for g in report.duplicates] == [sorted([f"Cu/{b}", "Cu/copy.jpg"])]
    assert [sorted(g.files) for g in report.near_duplicates] == [sorted([f"Cu/{c}", "Ci/resized.jpg"])]
    conflict = report.conflicts[0]
    assert len(report.conflicts) == 1
    assert sorted(zip(conflict.files, conflict.labels)) == [("Ci/resized.jpg", "Ci"), (f"Cu/{c}", "Cu")]
    assert report.imbalance["largest"] == "Cu" and report.imbalance["smallest"] == "Ci"

    data = json.loads(report.to_json())
    for key in ("n_images", "counts", "unreadable", "duplicates", "conflicts"):
        assert key in data
    assert data["conflicts"][0]["labels"] == ["Ci", "Cu"]
    assert {f["label"] for f in data["conflicts"][0]["files"]} == {"Ci", "Cu"}

    html = write_html(report, tmp_path / "out" / "report.html").read_text()
    assert "Conflicts" in html and "data:image/jpeg;base64," in html and "broken.jpg" in html

    problems = report.problems_by_file()
    assert {p["kind"] for p in problems["Ci/resized.jpg"]} == {"conflict", "duplicate"}
    assert problems["Cu/broken.jpg"][0]["kind"] == "unreadable"


def test_audit_cache_notices_changed_files(planted, cache_env):
    root, (a, _, _) = planted
    first = audit(root)
    assert (cache_env).exists()
    again = audit(root)
    assert again.to_dict()["conflicts"] == first.to_dict()["conflicts"]
    # Damage a photo: same name, new content and mtime -> it must be re-read, not served from cache.
    data = (root / "Cu" / a).read_bytes()
    (root / "Cu" / a).write_bytes(data[: len(data) // 3])
    third = audit(root)
    assert f"Cu/{a}" in [p.path for p in third.unreadable]


def test_audit_refuses_clearly_on_bad_input(tmp_path, cache_env):
    with pytest.raises(DataError, match="no such folder"):
        audit(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no photos found"):
        audit(tmp_path / "empty")
    only_text = tmp_path / "text" / "Cu"
    only_text.mkdir(parents=True)
    (only_text / "readme.md").write_text("hello")
    report = audit(tmp_path / "text")
    assert report.n_images == 0 and [p.path for p in report.non_photo] == ["Cu/readme.md"]
    # A zero-byte "photo" and an HTML page saved as .jpg are unreadable, with a reason.
    (only_text / "empty.jpg").write_bytes(b"")
    (only_text / "page.jpg").write_bytes(b"<!doctype html><html><body>404</body></html>")
    reasons = {p.path: p.reason for p in audit(tmp_path / "text").unreadable}
    assert "empty" in reasons["Cu/empty.jpg"] and "HTML" in reasons["Cu/page.jpg"]


def test_hamming_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, 40, dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, 40).astype(np.uint64)
    hashes = np.concatenate([base, base ^ flips, base[:5]])
    i, j, d = hamming_pairs(hashes, 3, block=7)
    found = {(int(a), int(b), int(c)) for a, b, c in zip(i, j, d)}
    expected = set()
    for a in range(len(hashes)):
        for b in range(a + 1, len(hashes)):
            dist = bin(int(hashes[a]) ^ int(hashes[b])).count("1")
            if dist <= 3:
                expected.add((a, b, dist))
    assert found == expected and len(found) >= 45


def test_audit_on_ccsn_finds_the_real_cross_label_duplicates(ccsn_dir, cache_env, capsys):
    before = sorted(p.name for p in ccsn_dir.iterdir())
    started = time.perf_counter()
    assert main(["data", "audit", str(ccsn_dir), "--json"]) == 0
    seconds = time.perf_counter() - started
    data = json.loads(capsys.readouterr().out)

    assert data["n_images"] == 2543
    assert sum(data["counts"].values()) == 2543 and len(data["counts"]) == 11
    assert data["unreadable"] == []
    pairs = [{f["path"] for f in c["files"]} for c in data["conflicts"]]
    assert any({"Ac/Ac-N013.jpg", "Cc/Cc-N029.jpg"} <= p for p in pairs)
    conflict = next(c for c in data["conflicts"] if any(f["path"] == "Ac/Ac-N013.jpg" for f in c["files"]))
    assert {f["path"]: f["label"] for f in conflict["files"]}["Cc/Cc-N029.jpg"] == "Cc"
    assert len(data["conflicts"]) >= 50  # CCSN files many photos under two genera
    assert len(data["duplicates"]) >= 10
    assert seconds < 60, f"audit of CCSN took {seconds:.1f} s"
    assert sorted(p.name for p in ccsn_dir.iterdir()) == before  # nothing written into the shared copy


def test_audit_command_text_and_html(planted, cache_env, tmp_path, capsys):
    root, _ = planted
    html = tmp_path / "report" / "audit.html"
    assert main(["data", "audit", str(root), "--html", str(html)]) == 0
    captured = capsys.readouterr()
    assert "conflicts (the same picture under different labels): 1" in captured.out
    assert "unreadable: 1" in captured.out and "cloudatlas clean" in captured.out
    assert html.exists() and str(html) in captured.err
    assert main(["data", "audit", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_ten_thousand_identical_photos_are_one_group_found_in_seconds(tmp_path, cache_env):
    """Scraped placeholders: 10 000 copies of one small PNG took 69 s and 2.3 GB (every pair of
    copies was listed: 50 million). Copies are one pHash value now, decoded once."""
    root = tmp_path / "placeholders"
    buf = io.BytesIO()
    Image.new("RGB", (200, 150), (120, 120, 120)).save(buf, "PNG")
    for label in ("Cu", "Ci"):
        (root / label).mkdir(parents=True)
    for i in range(10_000):
        (root / ("Cu" if i % 2 else "Ci") / f"p{i:05d}.png").write_bytes(buf.getvalue())
    started = time.perf_counter()
    report = audit(root, progress=False)
    problems = report.problems_by_file()
    groups = photo_groups(root, scan_folder(root))
    seconds = time.perf_counter() - started
    assert [len(g.files) for g in report.duplicates] == [10_000] and len(report.conflicts) == 1
    assert report.n_near_duplicate_pairs == 0  # all the same bytes: exact copies, not near ones
    assert len(set(groups)) == 1
    copy = next(p for p in problems["Cu/p00001.png"] if p["message"].startswith("byte-identical"))
    assert len(copy["related"]) == 10 and copy["message"].endswith("and 9989 more")
    assert seconds < 20, f"{seconds:.1f} s"


def test_distinct_pairs_count_the_pairs_of_files_they_stand_for(tmp_path, cache_env, ccsn_dir):
    """Three copies of one photo and two re-encodings of it: the pairs of files within the
    distance that are not the same bytes, counted from the distinct values."""
    root = tmp_path / "set"
    photo = sorted((ccsn_dir / "Cu").glob("*.jpg"))[3]
    for i in range(3):
        copy_photo(photo, root / "Cu" / f"copy-{i}.jpg")
    (root / "Ci").mkdir()
    with Image.open(photo) as img:
        for quality in (90, 70):
            img.convert("RGB").save(root / "Ci" / f"again-{quality}.jpg", quality=quality)
    report = audit(root, progress=False)
    assert len(report.groups) == 1 and len(report.groups[0].files) == 5
    sha = {f: hashlib.sha256((root / f).read_bytes()).digest() for f in report.groups[0].files}
    files = sorted(sha)
    other_bytes = sum(1 for a in range(5) for b in range(a + 1, 5) if sha[files[a]] != sha[files[b]])
    assert report.n_near_duplicate_pairs == other_bytes == 10 - 3  # all pairs but the copies' own


def test_a_photo_with_a_garbage_exif_block_is_a_good_photo_to_audit_and_predict(tmp_path, cache_env, ccsn_dir):
    """A valid JPEG with 'Exif\\0\\0XX' was 'unreadable' to the audit and the cleaner (their most
    suspicious class, inviting its deletion) and exit 1 from predict."""
    from ..core.hostile import jpeg_with_exif

    root = tmp_path / "set"
    photo = sorted((ccsn_dir / "Cu").glob("*.jpg"))[0]
    copy_photo(photo, root / "Cu" / photo.name)
    damaged = root / "Cu" / "damaged-exif.jpg"
    damaged.write_bytes(jpeg_with_exif(photo.read_bytes(), b"XX"))
    report = audit(root, progress=False)
    assert report.unreadable == [] and [g.files for g in report.near_duplicates] == [
        sorted([f"Cu/{photo.name}", "Cu/damaged-exif.jpg"])]
    assert main(["predict", str(damaged)]) == 0


def test_auditing_a_writable_folder_writes_nothing_into_it(planted, cache_env):
    """Reading tools keep their hashes in the user cache: a writable data set stays as it was."""
    root, _ = planted

    def snapshot():
        return sorted((p.relative_to(root).as_posix(), p.stat().st_mtime_ns) for p in root.rglob("*"))

    before = snapshot()
    audit(root, progress=False)
    photo_groups(root, scan_folder(root))
    assert snapshot() == before and any(cache_env.rglob("hashes.json"))
