"""Download public cloud-photo data sets and unpack them into ``DEST/<label>/``.

CCSN lives in the Harvard Dataverse (doi:10.7910/DVN/CADDPD). The Dataverse native API lists
the record's files with their sizes and checksums; each file is then streamed from the Data
Access API (``/api/access/datafile/<id>``) into ``<name>.part`` with a progress bar. An
interrupted download resumes from where it stopped with an HTTP Range request; the finished
file must match the checksum the record publishes (or one given by the user) before it is
unpacked. Folder names in the archive become canonical labels ('cumulus' -> 'Cu').
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from ..errors import FetchError
from ..imageio import is_image_file
from ..labels import canonical_label
from .layout import name_candidates

DATAVERSE_URL = "https://dataverse.harvard.edu"
DATAVERSE_ENV = "CLOUDATLAS_DATAVERSE_URL"  # a mirror, or a local server in tests
USER_AGENT = "cloudatlas-data-fetch/0.1"
CHUNK = 1 << 16
DOWNLOAD_DIR = ".cloudatlas/downloads"  # inside DEST, hidden from the label scan


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    doi: str
    title: str
    citation: str


DATASETS = {
    "ccsn": DatasetRecord(
        "ccsn", "doi:10.7910/DVN/CADDPD", "Cirrus Cumulus Stratus Nimbus (CCSN) Database",
        "Liu, Pu (2019), Harvard Dataverse, doi:10.7910/DVN/CADDPD; Zhang et al. (2018), "
        "CloudNet, Geophysical Research Letters 45, 8665-8672."),
}


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # a hashlib name: md5, sha1, sha256, sha512
    value: str

    @classmethod
    def parse(cls, text: str) -> "Checksum":
        """``sha256:<hex>`` or ``md5:<hex>``; a bare 64-digit hex string is taken as SHA-256."""
        text = text.strip()
        algorithm, _, value = text.rpartition(":")
        algorithm = (algorithm or {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}.get(len(value), "")).lower()
        algorithm = algorithm.replace("-", "")
        if algorithm not in ("md5", "sha1", "sha256", "sha512") or not re.fullmatch(r"[0-9a-fA-F]+", value):
            raise ValueError(f"{text!r}: expected ALGORITHM:HEX, e.g. sha256:9f86d0... (md5, sha1, sha256, sha512).")
        return cls(algorithm, value.lower())

    def of_file(self, path: Path) -> str:
        digest = hashlib.new(self.algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    size: int | None = None
    checksum: Checksum | None = None
    directory: str = ""  # Dataverse's directoryLabel: the folder the file was uploaded from


@dataclass
class FetchResult:
    dest: str
    files: list[str] = field(default_factory=list)  # archives downloaded
    counts: dict[str, int] = field(default_factory=dict)  # photos added per label
    skipped: int = 0  # archive members that are not photos in a label folder
    already_there: int = 0  # identical photos found in DEST (a re-run)

    @property
    def n_images(self) -> int:
        return sum(self.counts.values())


# -- HTTP ----------------------------------------------------------------------------------------
def _open(url: str, timeout: float, headers: dict | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout)


def _network_error(url: str, err: Exception) -> FetchError:
    if isinstance(err, urllib.error.HTTPError):
        return FetchError(f"{url}: HTTP {err.code} {err.reason}.")
    reason = getattr(err, "reason", err)
    return FetchError(f"{url}: {reason}. Check the connection (or --base-url) and run again; "
                      f"a partial download resumes.")


def dataverse_files(doi: str, base_url: str | None = None, timeout: float = 60.0) -> list[RemoteFile]:
    """The files of a Dataverse record (latest published version), with sizes and checksums."""
    base = (base_url or os.environ.get(DATAVERSE_ENV) or DATAVERSE_URL).rstrip("/")
    url = f"{base}/api/datasets/:persistentId/?persistentId={quote(doi, safe=':/')}"
    try:
        with _open(url, timeout, {"Accept": "application/json"}) as response:
            record = json.load(response)
    except (urllib.error.URLError, OSError) as err:
        raise _network_error(url, err) from None
    except ValueError:
        raise FetchError(f"{url}: the answer is not JSON; is {base} a Dataverse server?") from None
    try:
        files = record["data"]["latestVersion"]["files"]
    except (KeyError, TypeError):
        raise FetchError(f"{url}: no file list in the answer ({str(record)[:200]}).") from None
    out = []
    for entry in files:
        data = entry.get("dataFile", {})
        checksum = None
        if isinstance(data.get("checksum"), dict) and data["checksum"].get("value"):
            checksum = Checksum.parse(f"{data['checksum'].get('type', 'md5')}:{data['checksum']['value']}")
        elif data.get("md5"):
            checksum = Checksum("md5", data["md5"].lower())
        name = data.get("filename") or entry.get("label") or f"file-{data.get('id')}"
        out.append(RemoteFile(name=PurePosixPath(name).name, url=f"{base}/api/access/datafile/{data['id']}",
                              size=data.get("filesize"), checksum=checksum,
                              directory=str(entry.get("directoryLabel") or "")))
    return out


def download_file(url: str, dest: str | Path, checksum: Checksum | None = None, size: int | None = None,
                  progress: bool | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest``, resuming ``dest.part`` if a previous run was interrupted.

    The file is renamed to ``dest`` only once complete and, with ``checksum``, verified; a file
    that fails the check is removed (resuming it would only fail again).
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and (checksum is None or checksum.of_file(dest) == checksum.value):
        return dest  # already downloaded
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    if size is not None and start > size:
        start = 0  # not a prefix of this file
    if size is not None and start == size:
        response = None  # complete already: only the checksum is left to check
    else:
        headers = {"Range": f"bytes={start}-"} if start else {}
        try:
            response = _open(url, timeout, headers)
        except urllib.error.HTTPError as err:
            if err.code != 416 or not start:
                raise _network_error(url, err) from None
            response, start = _open(url, timeout), 0  # range refused: start over
        except (urllib.error.URLError, OSError) as err:
            raise _network_error(url, err) from None

    if response is not None:
        with response:
            resumed = start > 0 and response.status == 206 and \
                response.headers.get("Content-Range", "").startswith(f"bytes {start}-")
            if not resumed:
                start = 0  # the server sent the whole file
            length = response.headers.get("Content-Length")
            total = start + int(length) if length and length.isdigit() else size
            written = start
            try:
                with open(part, "ab" if resumed else "wb") as f, \
                        tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=dest.name, disable=None if progress is None else not progress) as bar:
                    for chunk in iter(lambda: response.read(CHUNK), b""):
                        f.write(chunk)
                        written += len(chunk)
                        bar.update(len(chunk))
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                raise FetchError(f"{url}: interrupted after {written / 1e6:.1f} MB ({err}); run the same "
                                 f"command again to resume.") from None
            if total is not None and written < total:
                raise FetchError(f"{url}: the connection closed after {written / 1e6:.1f} of {total / 1e6:.1f} MB; "
                                 f"run the same command again to resume.")

    if checksum is not None:
        actual = checksum.of_file(part)
        if actual != checksum.value:
            part.unlink()
            raise FetchError(f"{dest.name}: {checksum.algorithm} checksum mismatch (expected {checksum.value}, got "
                             f"{actual}); the download was corrupted or the file has changed. It was removed; "
                             f"run again to download it afresh.")
    part.replace(dest)
    return dest


# -- unpacking -------------------------------------------------------------------------------------
def _safe_name(name: str) -> str | None:
    name = name.strip()
    if name in ("", ".", "..") or "/" in name or "\\" in name or name.startswith("."):
        return None
    return name


def _same_bytes(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if path.stat().st_size != info.file_size:
        return False
    with open(path, "rb") as a, zf.open(info) as b:
        return a.read() == b.read()


def unpack_archive(archive: str | Path, dest: str | Path, result: FetchResult | None = None,
                   depth: int = 0) -> FetchResult:
    """Copy every photo in the zip ``archive`` to ``dest/<canonical label>/<name>``.

    The label is the photo's parent folder in the archive; however deep the folder sits, its
    name is all that is used, so a hostile path (``../../x``) cannot write outside ``dest``.
    Existing files are never replaced: identical ones are recognised, different ones get a free
    name. Zips inside the zip are unpacked too.
    """
    dest = Path(dest)
    result = result or FetchResult(dest=str(dest))
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise FetchError(f"{archive}: not a readable zip archive ({err}).") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if any(p == "__MACOSX" or p.startswith(".") for p in parts):
                continue  # macOS resource forks and hidden files
            if parts[-1].lower().endswith(".zip") and depth < 2:
                with tempfile.TemporaryDirectory() as tmp:
                    inner = Path(tmp) / "inner.zip"
                    with zf.open(info) as src, open(inner, "wb") as out:
                        shutil.copyfileobj(src, out)
                    unpack_archive(inner, dest, result, depth + 1)
                continue
            name = _safe_name(parts[-1])
            folder = _safe_name(parts[-2]) if len(parts) >= 2 else None
            if not name or not folder or not is_image_file(name):
                result.skipped += 1
                continue
            label = canonical_label(folder)
            target_dir = dest / label
            target_dir.mkdir(parents=True, exist_ok=True)
            for candidate in name_candidates(name):
                target = target_dir / candidate
                if target.exists():
                    if _same_bytes(target, zf, info):
                        result.already_there += 1
                        break
                    continue
                try:
                    with zf.open(info) as src, open(target, "xb") as out:
                        shutil.copyfileobj(src, out)
                except FileExistsError:
                    continue
                except (zipfile.BadZipFile, OSError, EOFError) as err:
                    target.unlink(missing_ok=True)
                    raise FetchError(f"{archive}: {info.filename} could not be extracted ({err}).") from None
                result.counts[label] = result.counts.get(label, 0) + 1
                break
    result.counts = dict(sorted(result.counts.items()))
    return result


def _place(src: Path, folder: Path, name: str, result: FetchResult) -> None:
    """Move a downloaded photo into its label folder as ``name``; never replaces a different file."""
    folder.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    for candidate in name_candidates(name):
        target = folder / candidate
        if target.exists():
            if target.read_bytes() == data:
                result.already_there += 1
                src.unlink()
                return
            continue
        try:
            with open(target, "xb") as out:
                out.write(data)
        except FileExistsError:
            continue
        src.unlink()
        result.counts[folder.name] = result.counts.get(folder.name, 0) + 1
        return


def _fetch_loose_photos(photos: list[RemoteFile], dest: Path, result: FetchResult, progress: bool | None,
                        timeout: float, workers: int = 4) -> None:
    """A record that holds the photos themselves (Dataverse unpacks uploaded zips unless they are
    zipped twice): fetch each, verified, into the label folder named by its directory."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    staging = dest / DOWNLOAD_DIR / "files"
    wanted = []
    for remote in photos:
        folder = PurePosixPath(remote.directory).name if remote.directory else ""
        if not _safe_name(folder) or not _safe_name(remote.name):
            result.skipped += 1  # a photo without a label folder cannot be filed
            continue
        wanted.append((remote, dest / canonical_label(folder)))

    def one(item: tuple[RemoteFile, Path]) -> Path | None:
        remote, folder = item
        target = folder / remote.name
        if target.exists() and remote.checksum and remote.checksum.of_file(target) == remote.checksum.value:
            return None  # there from an earlier run
        staged = staging / f"{remote.url.rsplit('/', 1)[-1]}-{remote.name}"  # file id: names may repeat
        return download_file(remote.url, staged, remote.checksum, remote.size, progress=False, timeout=timeout)

    quiet = None if progress is None else not progress
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(wanted), desc="photos", unit="photo", disable=quiet) as bar:
        for (remote, folder), path in zip(wanted, pool.map(one, wanted)):
            if path is None:
                result.already_there += 1
            else:
                _place(path, folder, remote.name, result)
            bar.update()
    result.counts = dict(sorted(result.counts.items()))


def fetch_dataset(name: str, dest: str | Path, base_url: str | None = None, checksum: Checksum | None = None,
                  keep_archive: bool = False, progress: bool | None = None, timeout: float = 60.0) -> FetchResult:
    """Download data set ``name`` (see :data:`DATASETS`) into ``dest/<label>/``.

    The record's zip archives are downloaded (resumable, verified) and unpacked; a record that
    holds the photos one by one instead has them fetched into the folder they were uploaded from.
    """
    record = DATASETS.get(name.lower())
    if record is None:
        raise FetchError(f"Unknown data set {name!r}; available: {', '.join(sorted(DATASETS))}.")
    dest = Path(dest)
    files = dataverse_files(record.doi, base_url, timeout)
    archives = [f for f in files if f.name.lower().endswith(".zip")]
    photos = [f for f in files if is_image_file(f.name)]
    if not archives and not photos:
        raise FetchError(f"{record.doi}: the record holds neither a zip archive nor photos (files: "
                         f"{', '.join(f.name for f in files) or 'none'}).")
    if checksum is not None and len(archives) != 1:
        raise FetchError("--checksum names one archive, but the record does not hold exactly one.")
    result = FetchResult(dest=str(dest))
    downloads = dest / DOWNLOAD_DIR
    for remote in archives:
        path = download_file(remote.url, downloads / remote.name, checksum or remote.checksum, remote.size,
                             progress=progress, timeout=timeout)
        result.files.append(remote.name)
        unpack_archive(path, dest, result)
        if not keep_archive:
            path.unlink()
    if photos:
        _fetch_loose_photos(photos, dest, result, progress, timeout)
    return result
