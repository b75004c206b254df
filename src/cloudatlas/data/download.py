"""Fetch a list of image URLs (what an image search returns) into ``DEST/<label>/``.

Downloads run in a thread pool, each with a connect/read timeout, an overall deadline and a
size cap enforced while streaming (a lying or missing Content-Length cannot get past it). Only
files that decode as images are kept (HTML error pages, SVGs and truncated files are not), and a
photo that is already in the data set under any label, byte for byte or near enough by
perceptual hash, is skipped: it would only leak between train and test or become a conflict.
Every URL ends up either saved or skipped with a reason.
"""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import re
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import numpy as np

from ..errors import DataError
from ..imageio import ImageLoadError, load_image
from .dataset import scan_folder
from .hashes import hash_image_bytes, hash_photos
from .layout import label_folder, name_candidates
from .phash import DEFAULT_MAX_DISTANCE, popcount

USER_AGENT = "cloudatlas-data-download/0.1 (+https://github.com/cloudatlas)"
_FORMAT_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
                  "TIFF": ".tif", "HEIF": ".heic", "AVIF": ".avif"}


@dataclass
class DownloadOptions:
    workers: int = 8
    timeout: float = 15.0  # seconds to connect, and between two chunks of data
    deadline: float = 60.0  # seconds for one whole download, however it trickles in
    max_bytes: int = 25 * 1024 * 1024  # no photo worth training on is bigger
    min_size: int = 128  # shorter side in pixels; smaller ones are thumbnails or icons
    max_distance: int = DEFAULT_MAX_DISTANCE  # pHash bits for "the same picture"; -1: exact copies only


@dataclass
class Saved:
    url: str
    path: str  # relative to the data set


@dataclass
class Skipped:
    url: str
    reason: str  # invalid-url | http-error | timeout | network-error | too-large | not-an-image | too-small | duplicate
    detail: str


@dataclass
class DownloadReport:
    dest: str
    label: str
    saved: list[Saved] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"dest": self.dest, "label": self.label, "n_saved": len(self.saved), "n_skipped": len(self.skipped),
                "saved": [asdict(s) for s in self.saved], "skipped": [asdict(s) for s in self.skipped],
                "seconds": round(self.seconds, 2)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary(self) -> str:
        lines = [f"Saved {len(self.saved)} photos to {self.dest} as {self.label}; skipped {len(self.skipped)} "
                 f"({self.seconds:.1f} s)."]
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        if reasons:
            lines.append("  " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])))
        for s in self.skipped:
            lines.append(f"  skipped {s.url}: {s.reason}: {s.detail}")
        return "\n".join(lines)


def read_url_list(path: str | Path) -> list[str]:
    """One URL a line; blank lines and ``#`` comments are ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DataError(f"{path}: cannot read the URL list ({err.strerror}).") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


class _Skip(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def fetch_bytes(url: str, options: DownloadOptions) -> bytes:
    """The body of ``url``, or :class:`_Skip` saying why not."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _Skip("invalid-url", "not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=options.timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > options.max_bytes:
                raise _Skip("too-large", f"{int(declared) / 1e6:.1f} MB is over the "
                                         f"{options.max_bytes / 1e6:.0f} MB limit")
            chunks, size = [], 0
            while True:
                chunk = response.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > options.max_bytes:  # the header may lie or be missing
                    raise _Skip("too-large", f"more than {options.max_bytes / 1e6:.0f} MB")
                if time.monotonic() - started > options.deadline:
                    raise _Skip("timeout", f"still downloading after {options.deadline:.0f} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except _Skip:
        raise
    except urllib.error.HTTPError as err:
        raise _Skip("http-error", f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (socket.timeout, TimeoutError)):
            raise _Skip("timeout", f"no answer within {options.timeout:.0f} s") from None
        raise _Skip("network-error", str(err.reason)) from None
    except (socket.timeout, TimeoutError):
        raise _Skip("timeout", f"no data for {options.timeout:.0f} s") from None
    except (OSError, ValueError, http.client.HTTPException) as err:  # reset, bad chunking, ...
        raise _Skip("network-error", str(err) or type(err).__name__) from None


@dataclass
class _Checked:
    url: str
    data: bytes
    sha256: str
    phash: int
    fmt: str


def _check_image(url: str, data: bytes, options: DownloadOptions) -> _Checked:
    """Decode fully (catches truncated files and HTML error pages), then size and hash."""
    name = PurePosixPath(unquote(urlparse(url).path)).name or "download"
    buffer = io.BytesIO(data)
    buffer.name = name
    try:
        img = load_image(buffer)
    except ImageLoadError as err:
        raise _Skip("not-an-image", str(err)) from None
    if min(img.size) < options.min_size:
        raise _Skip("too-small", f"{img.size[0]}x{img.size[1]} pixels (minimum {options.min_size} on the shorter side)")
    phash, _, _, fmt, error = hash_image_bytes(data, name)
    if error or phash is None:
        raise _Skip("not-an-image", error or "could not be hashed")
    return _Checked(url, data, hashlib.sha256(data).hexdigest(), phash, fmt)


def _file_name(url: str, fmt: str, sha256: str, label: str) -> str:
    """A readable name from the URL when it has one, else ``LABEL-<hash>``; always the right suffix."""
    stem = PurePosixPath(unquote(urlparse(url).path)).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:60]
    if len(stem) < 3:
        stem = f"{label}-{sha256[:12]}"
    return stem + _FORMAT_SUFFIX.get(fmt, ".jpg")


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    """Create a new file; exclusive creation means an existing photo is never replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for candidate in name_candidates(name):
        path = folder / candidate
        try:
            with open(path, "xb") as f:
                f.write(data)
            return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def download_images(urls: list[str], dest: str | Path, label: str, options: DownloadOptions | None = None,
                    progress: bool | None = None) -> DownloadReport:
    """Download ``urls`` into ``dest/<label>/``; see the module docstring."""
    from tqdm import tqdm

    options = options or DownloadOptions()
    started = time.perf_counter()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folder = label_folder(dest, label)
    report = DownloadReport(dest=str(dest), label=folder.name)

    # What is already there, under any label: duplicates of it are not wanted.
    try:
        existing = [h for h in hash_photos(dest, scan_folder(dest), progress=False) if not h.error]
    except DataError:
        existing = []
    known_sha = {h.sha256: h.key for h in existing}
    known_keys = [h.key for h in existing]
    known_hash = np.array([h.phash for h in existing], dtype=np.uint64)

    unique, seen = [], set()
    for url in urls:
        if url in seen:
            report.skipped.append(Skipped(url, "duplicate", "the same URL appears earlier in the list"))
        else:
            seen.add(url)
            unique.append(url)

    def work(url: str) -> _Checked:
        return _check_image(url, fetch_bytes(url, options), options)

    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool, \
            tqdm(total=len(unique), desc="downloading", unit="url", leave=False,
                 disable=None if progress is None else not progress) as bar:
        futures = {pool.submit(work, url): url for url in unique}
        for future in as_completed(futures):
            url = futures[future]
            bar.update()
            try:
                item = future.result()
            except _Skip as skip:
                report.skipped.append(Skipped(url, skip.reason, skip.detail))
                continue
            # Duplicate checks and writes happen here, one at a time, so two URLs of the same
            # photo cannot both slip in.
            if item.sha256 in known_sha:
                report.skipped.append(Skipped(url, "duplicate", f"the same file as {known_sha[item.sha256]}"))
                continue
            if options.max_distance >= 0 and len(known_hash):
                dist = popcount(known_hash ^ np.uint64(item.phash))
                nearest = int(np.argmin(dist))
                if dist[nearest] <= options.max_distance:
                    report.skipped.append(Skipped(url, "duplicate", f"looks like {known_keys[nearest]} "
                                                                    f"(pHash distance {int(dist[nearest])})"))
                    continue
            path = _write_new(folder, _file_name(url, item.fmt, item.sha256, folder.name), item.data)
            key = f"{folder.name}/{path.name}"
            report.saved.append(Saved(url, key))
            known_sha[item.sha256] = key
            known_keys.append(key)
            known_hash = np.append(known_hash, np.uint64(item.phash))
    order = {url: i for i, url in enumerate(urls)}
    report.saved.sort(key=lambda s: order.get(s.url, 0))
    report.skipped.sort(key=lambda s: order.get(s.url, 0))
    report.seconds = time.perf_counter() - started
    return report
