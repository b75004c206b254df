"""Shared fixtures: the real data sets, a real uvicorn server, a real headless Chromium."""
from __future__ import annotations

import contextlib
import csv
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Caches (feature views, hashes, embeddings) of a test session never touch the user's own.
os.environ.setdefault("CLOUDATLAS_CACHE_DIR", tempfile.mkdtemp(prefix="cloudatlas-test-cache-"))
SHARED_DATA = Path(os.environ.get("CLOUDATLAS_SHARED_DATA", ROOT.parent / "shared" / "data"))
ARTIFACTS = ROOT / "test-artifacts"
# The seed the bundled model's gates were fitted with: ``cloudatlas.gate.not_sky_parts`` and
# ``clear_sky_parts`` with it name the photos they never saw.
GATE_SEED = 0
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (set CLOUDATLAS_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def ccsn_dir() -> Path:
    """The CCSN data set, read-only: copy before changing anything."""
    return _require(SHARED_DATA / "ccsn")


@pytest.fixture(scope="session")
def not_cloud_dir() -> Path:
    return _require(SHARED_DATA / "not_cloud")


@pytest.fixture(scope="session")
def clear_sky_dir() -> Path:
    return _require(SHARED_DATA / "extra" / "clear_sky")


@pytest.fixture(scope="session")
def ccsn_test_photos(ccsn_dir) -> dict[str, list[Path]]:
    """CCSN photos of the benchmark's ``test`` split by genus, sorted: no model of ours trains,
    calibrates or chooses anything on them (the bundled model's gates included)."""
    photos: dict[str, list[Path]] = {}
    with open(_require(ccsn_dir / "split.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] == "test":
                photos.setdefault(row["label"], []).append(ccsn_dir / row["path"])
    return {label: sorted(paths) for label, paths in sorted(photos.items())}


@pytest.fixture(scope="session")
def heldout_not_sky(not_cloud_dir) -> list[Path]:
    """Photos of other things the bundled model's sky gate was not fitted on."""
    from cloudatlas.gate import not_sky_parts

    return not_sky_parts(not_cloud_dir, GATE_SEED)[1]


@pytest.fixture(scope="session")
def heldout_clear_sky(clear_sky_dir) -> list[Path]:
    """Clear-sky photos the bundled model's clear-sky gate neither fitted nor calibrated on."""
    from cloudatlas.gate import clear_sky_parts

    return clear_sky_parts(clear_sky_dir, GATE_SEED)[2]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def copy_subset(src: Path, dest: Path, labels: list[str], per_label: int) -> Path:
    """A small folder-per-class copy of ``src`` (first ``per_label`` photos of each label)."""
    for label in labels:
        (dest / label).mkdir(parents=True, exist_ok=True)
        for photo in sorted((src / label).glob("*.jpg"))[:per_label]:
            shutil.copy2(photo, dest / label / photo.name)
    return dest


@pytest.fixture
def tiny_ccsn(tmp_path, ccsn_dir) -> Path:
    """Six photos of each of three genera, copied so tests may change them."""
    return copy_subset(ccsn_dir, tmp_path / "tiny", ["Ci", "Cu", "Ns"], 6)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app, port: int | None = None):
    """Run an ASGI ``app`` in a real uvicorn server on a free local port; yield its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download cannot work offline)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make browser)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone screen
    pg = context.new_page()
    yield pg
    context.close()
