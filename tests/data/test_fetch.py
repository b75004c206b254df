"""`cloudatlas data fetch` against a local Dataverse stand-in serving a zip made by the test."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from cloudatlas.cli import main
from cloudatlas.data.fetch import Checksum, FetchError, fetch_dataset, unpack_archive

from .tools_fixtures import Route, http_server, tree  # noqa: F401  (fixtures)

DOI = "doi:10.7910/DVN/CADDPD"
FILE_ID = 3712345


def make_archive(ccsn_dir) -> tuple[bytes, dict[str, bytes]]:
    """A small CCSN-like zip: genus folders (one spelled 'cumulus'), junk a real zip carries,
    and a hostile path that must not escape the destination."""
    photos = {
        "CCSN_v2/Ac/Ac-N001.jpg": (ccsn_dir / "Ac" / "Ac-N001.jpg").read_bytes(),
        "CCSN_v2/Ac/Ac-N002.jpg": (ccsn_dir / "Ac" / "Ac-N002.jpg").read_bytes(),
        "CCSN_v2/cumulus/Cu-N001.jpg": (ccsn_dir / "Cu" / "Cu-N001.jpg").read_bytes(),
        "CCSN_v2/St/St-N001.jpg": (ccsn_dir / "St" / "St-N001.jpg").read_bytes(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("CCSN_v2/", b"")
        for name, data in photos.items():
            zf.writestr(name, data)
        zf.writestr("__MACOSX/CCSN_v2/Ac/._Ac-N001.jpg", b"\x00\x05\x16\x07resource fork")
        zf.writestr("CCSN_v2/README.txt", b"Cirrus Cumulus Stratus Nimbus")
        zf.writestr("../../escape/Ci/Ci-N002.jpg", (ccsn_dir / "Ci" / "Ci-N002.jpg").read_bytes())
        zf.writestr("/tmp/escape/Ci/Ci-N001.jpg", (ccsn_dir / "Ci" / "Ci-N001.jpg").read_bytes())
    return buffer.getvalue(), photos


def serve_record(server, archive: bytes, ranges: bool = True, cut_after: int | None = None,
                 checksum: dict | None = None) -> None:
    record = {"status": "OK", "data": {"latestVersion": {"files": [{
        "label": "CCSN_v2.zip",
        "dataFile": {"id": FILE_ID, "filename": "CCSN_v2.zip", "filesize": len(archive),
                     "checksum": checksum or {"type": "MD5", "value": hashlib.md5(archive).hexdigest()}},
    }]}}}
    server.routes[f"/api/datasets/:persistentId/?persistentId={DOI}"] = Route(
        json.dumps(record).encode(), content_type="application/json")
    server.routes[f"/api/access/datafile/{FILE_ID}"] = Route(archive, ranges=ranges, cut_after=cut_after,
                                                            content_type="application/zip")


def downloads(server) -> list[dict]:
    return [r for r in server.requests if r["path"].startswith("/api/access/")]


def test_fetch_downloads_verifies_and_unpacks_into_label_folders(http_server, ccsn_dir, tmp_path, capsys):
    archive, photos = make_archive(ccsn_dir)
    serve_record(http_server, archive)
    dest = tmp_path / "ccsn"

    result = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=True)

    assert "CCSN_v2.zip" in capsys.readouterr().err  # the tqdm progress bar, named after the file
    assert result.counts == {"Ac": 2, "Ci": 1, "Cu": 1, "St": 1}
    files = tree(dest)
    assert files["Ac/Ac-N001.jpg"] == len(photos["CCSN_v2/Ac/Ac-N001.jpg"])
    assert (dest / "Cu" / "Cu-N001.jpg").read_bytes() == photos["CCSN_v2/cumulus/Cu-N001.jpg"]
    assert not any(k.startswith("__MACOSX") or k.endswith(".txt") for k in files)
    assert (dest / "Ci" / "Ci-N001.jpg").exists()  # an absolute path lands inside dest
    assert not (tmp_path / "escape").exists() and not (dest / "Ci" / "Ci-N002.jpg").exists()  # '..' refused
    assert not any(k.endswith((".zip", ".part")) for k in files)  # archive removed once unpacked
    assert "Range" not in downloads(http_server)[0]["headers"]

    # Running it again adds nothing and renames nothing.
    again = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    assert again.counts == {} and again.already_there == 5
    assert tree(dest) == files


def test_checksum_mismatch_is_an_error_and_nothing_is_unpacked(http_server, ccsn_dir, tmp_path):
    archive, _ = make_archive(ccsn_dir)
    serve_record(http_server, archive)
    dest = tmp_path / "ccsn"
    wrong = Checksum("sha256", "0" * 64)
    with pytest.raises(FetchError, match="sha256 checksum mismatch"):
        fetch_dataset("ccsn", dest, base_url=http_server.url, checksum=wrong, progress=False)
    assert not [k for k in tree(dest) if not k.startswith(".cloudatlas")]  # no photos
    assert not list(dest.rglob("*.part")) and not list(dest.rglob("*.zip"))

    # The record's own (wrong) checksum is checked too; through the CLI it is a one-line error.
    serve_record(http_server, archive, checksum={"type": "MD5", "value": "f" * 32})
    code = main(["data", "fetch", "ccsn", "--dest", str(dest), "--base-url", http_server.url])
    assert code == 2

    # A checksum the user passes in (right this time) replaces the record's.
    right = f"sha256:{hashlib.sha256(archive).hexdigest()}"
    assert main(["data", "fetch", "ccsn", "--dest", str(dest), "--base-url", http_server.url,
                 "--checksum", right]) == 0
    assert (dest / "St" / "St-N001.jpg").exists()


def test_interrupted_download_resumes_with_a_range_request(http_server, ccsn_dir, tmp_path):
    archive, _ = make_archive(ccsn_dir)
    half = len(archive) // 2
    serve_record(http_server, archive, cut_after=half)
    dest = tmp_path / "ccsn"

    with pytest.raises(FetchError, match="run the same command again to resume"):
        fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    part = dest / ".cloudatlas" / "downloads" / "CCSN_v2.zip.part"
    assert part.stat().st_size == half

    result = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    assert downloads(http_server)[-1]["headers"].get("Range") == f"bytes={half}-"
    assert result.n_images == 5 and not part.exists()
    assert (dest / "Ac" / "Ac-N002.jpg").read_bytes() == (ccsn_dir / "Ac" / "Ac-N002.jpg").read_bytes()


def test_server_without_range_support_restarts_cleanly(http_server, ccsn_dir, tmp_path):
    archive, _ = make_archive(ccsn_dir)
    serve_record(http_server, archive, ranges=False)
    dest = tmp_path / "ccsn"
    part = dest / ".cloudatlas" / "downloads" / "CCSN_v2.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(archive[:1000])  # left over from an earlier run
    result = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    assert result.n_images == 5  # the md5 passed, so the stale prefix was not glued on


def test_unreachable_server_and_bad_archive_give_clear_errors(tmp_path):
    with pytest.raises(FetchError, match="Check the connection"):
        fetch_dataset("ccsn", tmp_path / "x", base_url="http://127.0.0.1:9", progress=False, timeout=5)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"<html>not a zip</html>")
    with pytest.raises(FetchError, match="not a readable zip"):
        unpack_archive(bad, tmp_path / "out")
    with pytest.raises(FetchError, match="Unknown data set"):
        fetch_dataset("imagenet", tmp_path / "x")


def test_checksum_parsing():
    assert Checksum.parse("MD5:ABCDEF0123456789abcdef0123456789") == Checksum("md5", "abcdef0123456789abcdef0123456789")
    assert Checksum.parse("a" * 64).algorithm == "sha256"
    assert Checksum.parse("SHA-256:" + "b" * 64).algorithm == "sha256"
    with pytest.raises(ValueError):
        Checksum.parse("crc32:xyz")


def test_record_of_single_photos_is_fetched_into_their_folders(http_server, ccsn_dir, tmp_path):
    """Dataverse unpacks an uploaded zip unless it was zipped twice: then the record lists the
    photos one by one, each with the folder it came from (directoryLabel) and its own MD5."""
    photos = {101: ("CCSN_v2/Ac", "Ac-N001.jpg"), 102: ("CCSN_v2/cumulus", "Cu-N001.jpg"),
              103: ("", "loose.jpg")}
    entries = []
    for file_id, (folder, name) in photos.items():
        data = (ccsn_dir / ("Ac" if name.startswith("Ac") else "Cu") / ("Cu-N002.jpg" if name == "loose.jpg" else name)
                ).read_bytes()
        http_server.routes[f"/api/access/datafile/{file_id}"] = Route(data, ranges=True, content_type="image/jpeg")
        entry = {"label": name, "dataFile": {"id": file_id, "filename": name, "filesize": len(data),
                                             "md5": hashlib.md5(data).hexdigest()}}
        if folder:
            entry["directoryLabel"] = folder
        entries.append(entry)
    record = {"status": "OK", "data": {"latestVersion": {"files": entries}}}
    http_server.routes[f"/api/datasets/:persistentId/?persistentId={DOI}"] = Route(
        json.dumps(record).encode(), content_type="application/json")
    dest = tmp_path / "ccsn"

    result = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    assert result.counts == {"Ac": 1, "Cu": 1} and result.skipped == 1  # no folder, no label
    assert (dest / "Cu" / "Cu-N001.jpg").read_bytes() == (ccsn_dir / "Cu" / "Cu-N001.jpg").read_bytes()
    again = fetch_dataset("ccsn", dest, base_url=http_server.url, progress=False)
    assert again.counts == {} and again.already_there == 2
    assert sorted(k for k in tree(dest) if not k.startswith(".cloudatlas")) == ["Ac/Ac-N001.jpg", "Cu/Cu-N001.jpg"]
