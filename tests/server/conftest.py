"""Fixtures of the server tests: a gated model, the app, and real uvicorn servers on free ports."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import httpx
import pytest

from cloudatlas.inference import Classifier
from cloudatlas.server import ServiceSettings, create_app

from ..conftest import live_server
from ..gate.models import served_model

SMALL_LIMIT_MB = 1


@pytest.fixture(scope="session")
def model_base(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "models"


@pytest.fixture(scope="session")
def gated_model_path(model_base, ccsn_dir, not_cloud_dir) -> Path:
    return served_model(model_base, ccsn_dir, not_cloud_dir)


@pytest.fixture(scope="session")
def classifier(gated_model_path) -> Classifier:
    return Classifier.load(gated_model_path, threads=1)


@pytest.fixture(scope="session")
def server(classifier) -> str:
    """Base URL of a real uvicorn server running the app with the gated model."""
    app = create_app(classifier=classifier, settings=ServiceSettings(max_concurrent=2, threads=1))
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="session")
def small_limit_server(classifier) -> str:
    """The same app with a 1 MB upload limit, for the size tests."""
    app = create_app(classifier=classifier, max_upload_mb=SMALL_LIMIT_MB)
    with live_server(app) as url:
        yield url


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c


def png_declaring(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG whose header declares ``width x height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b""))
