"""Fixtures and helpers shared by the data-tool and cleaner tests (imported by the test modules)."""
from __future__ import annotations

import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image

def feature_model_path(base: Path) -> Path:
    """The bundled model: its backbone embeds photos for the data tools (it always ships)."""
    from cloudatlas.inference import bundled_model_path

    path = bundled_model_path()
    assert path.is_file(), f"the bundled model is missing: {path}"
    return path


@pytest.fixture(scope="session")
def feature_model(tmp_path_factory) -> Path:
    return feature_model_path(tmp_path_factory.getbasetemp())


@pytest.fixture
def cache_env(tmp_path, monkeypatch) -> Path:
    """Keep hash and embedding caches in the test's own folder (never in ~/.cache or shared data)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("CLOUDATLAS_CACHE_DIR", str(path))
    return path


def copy_photo(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    return dest


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def tree(root: Path) -> dict[str, int]:
    """Every file under ``root`` (hidden folders included) -> its size."""
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


# -- a tiny programmable HTTP server -----------------------------------------------------------
class Route:
    """What the test server answers for one path."""

    def __init__(self, body: bytes = b"", status: int = 200, content_type: str = "application/octet-stream",
                 delay: float = 0.0, ranges: bool = False, cut_after: int | None = None,
                 send_length: bool = True, handler: Callable | None = None):
        self.body, self.status, self.content_type = body, status, content_type
        self.delay, self.ranges, self.cut_after, self.send_length = delay, ranges, cut_after, send_length
        self.handler = handler


class TestServer:
    """``http.server`` in a thread: routes by path (query string included), request log kept."""

    __test__ = False  # not a test class

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                if route.delay:
                    import time

                    time.sleep(route.delay)
                body, status, extra = route.body, route.status, {}
                wanted = self.headers.get("Range")
                if route.ranges and wanted and wanted.startswith("bytes="):
                    start = int(wanted[6:].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    extra["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                    body, status = body[start:], 206
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", route.content_type)
                    if route.ranges:
                        self.send_header("Accept-Ranges", "bytes")
                    for k, v in extra.items():
                        self.send_header(k, v)
                    if route.send_length:
                        self.send_header("Content-Length", str(len(body)))
                    else:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    if route.cut_after is not None:
                        self.wfile.write(body[:route.cut_after])
                        self.wfile.flush()
                        route.cut_after = None  # only the first transfer is interrupted
                        self.close_connection = True
                        return
                    for i in range(0, len(body), 65536):
                        self.wfile.write(body[i:i + 65536])
                    if not route.send_length:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (size cap, timeout): expected in some tests

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "TestServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    with TestServer() as server:
        yield server
