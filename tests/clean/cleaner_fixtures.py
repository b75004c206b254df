"""A small data set with every problem the cleaner shows, made from real CCSN photos."""
from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import httpx
import pytest

from cloudatlas.clean.guard import TOKEN_HEADER

from ..conftest import live_server


def build_review_set(root: Path, ccsn: Path) -> Path:
    """Ac and Cc share a photo (Ac-N013 = Cc-N029, a real CCSN conflict); Cu has an exact copy
    and a truncated file; Cc holds a different photo named Ac-N001.jpg, so moving Ac/Ac-N001.jpg
    to Cc clashes."""
    def put(label: str, src: Path, name: str | None = None) -> None:
        (root / label).mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, root / label / (name or src.name))

    for name in ("Ac-N001.jpg", "Ac-N002.jpg", "Ac-N003.jpg", "Ac-N013.jpg"):
        put("Ac", ccsn / "Ac" / name)
    for name in ("Cc-N001.jpg", "Cc-N002.jpg", "Cc-N029.jpg"):
        put("Cc", ccsn / "Cc" / name)
    put("Cc", ccsn / "Cc" / "Cc-N003.jpg", "Ac-N001.jpg")
    for name in ("Cu-N001.jpg", "Cu-N002.jpg", "Cu-N004.jpg"):
        put("Cu", ccsn / "Cu" / name)
    put("Cu", ccsn / "Cu" / "Cu-N001.jpg", "Cu-N001-copy.jpg")
    data = (ccsn / "Cu" / "Cu-N005.jpg").read_bytes()
    (root / "Cu" / "broken.jpg").write_bytes(data[: len(data) // 2])
    return root


@pytest.fixture
def review_set(tmp_path, ccsn_dir, monkeypatch) -> Path:
    monkeypatch.setenv("CLOUDATLAS_CACHE_DIR", str(tmp_path / "cache"))
    return build_review_set(tmp_path / "set", ccsn_dir)


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.jpg") if ".cloudatlas" not in p.parts}


TOKEN_META = re.compile(r'<meta name="cloudatlas-token" content="([^"]+)">')


def page_token(html: str) -> str:
    """The token the cleaner wrote into its page, read the way the page's script reads it."""
    match = TOKEN_META.search(html)
    assert match, "the page carries no token"
    return match.group(1)


@contextlib.contextmanager
def live_cleaner(root: Path, **options):
    """The cleaner for ``root`` in a real uvicorn server on a free local port.

    Yields (base URL, token taken from the served page)."""
    from cloudatlas.clean import create_app

    with live_server(create_app(root, find_issues=False, **options)) as url:
        with httpx.Client(base_url=url, timeout=30) as c:
            token = page_token(c.get("/").text)
        yield url, token


@pytest.fixture
def cleaner(review_set):
    with live_cleaner(review_set) as (url, token):
        yield url, token


@pytest.fixture
def client(cleaner):
    """An HTTP client of the live cleaner that sends the page's token, as the page does."""
    url, token = cleaner
    with httpx.Client(base_url=url, timeout=30, headers={TOKEN_HEADER: token}) as c:
        yield c
