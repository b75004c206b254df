"""What the page needs to run the model on the device and offline.

    GET /api/v1/model          labels, input size, thresholds, the file's hash and the runtime's (JSON)
    GET /model.onnx?v=HASH     the model bytes, with a strong ETag (the file's SHA-256)
    GET /sw.js                 the service worker, at the root so that it may serve the whole site
    GET /manifest.webmanifest  the web app manifest (add to home screen)
    GET /static/vendor/ort/*   onnxruntime-web, gzip-compressed when the browser accepts it

The service worker is sent with a first line naming this build: a hash of every static file, of
the model and of the runtime, and the list of files to keep. Browsers compare service-worker
scripts byte for byte, so a new page, runtime or model makes them install the new worker, which
caches the new page and drops the old caches; nothing has to be bumped by hand.

The two large files (the model and the runtime's WebAssembly binary) are not in that list: the
page's worker downloads them itself, showing its progress, and only when the person classifies
on the device (stored.js keeps them in caches named by these hashes).
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ..cache import file_sha256 as sha256_of_file
from ..labels import LEVELS
from .deps import Service
from .schemas import ModelFile, RuntimeFile
from .service import ClassifierService

MODEL_URL = "/model.onnx"
VENDOR = "/static/vendor/ort"
SHORT_HASH = 12  # in URLs and cache names; the ETag carries the whole hash
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # may be stored, but asked about again each time


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of_file(path)  # size and mtime only key the memo


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime): a replaced model gets a new hash."""
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


WASM = "ort-wasm-simd-threaded.wasm"


def runtime_file(static: Path) -> RuntimeFile | None:
    """The runtime's binary as the page downloads it: gzip-compressed where a copy was made."""
    path = static / "vendor" / "ort" / WASM
    if not path.is_file():
        return None
    sha = file_sha256(path)
    packed = path.with_name(WASM + ".gz")
    sent = packed if packed.is_file() else path
    return RuntimeFile(url=f"{VENDOR}/{WASM}?v={sha[:SHORT_HASH]}", sha256=sha, bytes=sent.stat().st_size,
                       decoded_bytes=path.stat().st_size)


def model_file(service: ClassifierService, static: Path) -> ModelFile:
    clf = service.classifier
    sha = file_sha256(clf.path)
    return ModelFile(name=clf.name, version=clf.version, sha256=sha, url=f"{MODEL_URL}?v={sha[:SHORT_HASH]}",
                     bytes=clf.path.stat().st_size, img_size=clf.img_size, input=clf.input_name,
                     outputs=sorted(clf.outputs), labels=clf.labels, names=clf.names,
                     cloud_threshold=clf.gate_threshold, clear_sky_threshold=clf.clear_threshold,
                     thresholds=clf.thresholds, levels={k: list(v) for k, v in LEVELS.items()},
                     runtime=runtime_file(static))


DOWNLOAD_SIZE = "<!--download-size-->"  # in index.html: where the page says how much comes down


def page_response(static: Path, service: ClassifierService) -> HTMLResponse:
    """The page, saying from its first paint how much a first visit downloads to run the model on
    the device (the model and the runtime): on a slow link its scripts arrive seconds later."""
    info = model_file(service, static)
    size = info.bytes + (info.runtime.bytes if info.runtime else 0)
    page = (static / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(page.replace(DOWNLOAD_SIZE, f": {size / 1e6:.1f} MB to download, once"),
                        headers={"cache-control": REVALIDATE})


# Served at their own URLs (/, /sw.js, /manifest.webmanifest), not under /static.
_AT_ROOT = {"index.html", "sw.js", "manifest.webmanifest"}


def _static_files(static: Path) -> list[Path]:
    """Every file the page may load: dotfiles, the gzip copies (sent in place of the originals) and
    the runtime's binary (the worker stores it, see above) left out."""
    return sorted(p for p in static.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.suffix not in (".gz", ".wasm") and str(p.relative_to(static)) not in _AT_ROOT)


def service_worker_source(static: Path, model: ModelFile) -> str:
    files = _static_files(static)
    runtime = model.runtime.sha256 if model.runtime else ""
    digest = hashlib.sha256(model.sha256.encode() + runtime.encode())
    for path in files:
        digest.update(str(path.relative_to(static)).encode() + b"\0" + file_sha256(path).encode())
    shell = ["/", "/manifest.webmanifest", "/api/v1/model", "/api/v1/labels"]
    shell += ["/static/" + p.relative_to(static).as_posix() for p in files]
    build = {"version": digest.hexdigest()[:SHORT_HASH], "model": {"url": model.url, "sha256": model.sha256},
             "runtime": {"sha256": runtime}, "shell": shell}
    return f"const BUILD = {json.dumps(build)};\n" + (static / "sw.js").read_text()


def pwa_router(static: Path, api: str) -> APIRouter:
    """The routes above; include it before mounting ``static`` at /static (the vendor route must win)."""
    router = APIRouter()

    @router.get(f"{api}/model", response_model=ModelFile, tags=["labels"],
                summary="The model file and how to run it (for on-device inference)")
    async def model_description(service: Service) -> ModelFile:
        return model_file(service, static)

    @router.get(MODEL_URL, include_in_schema=False)
    async def model_bytes(request: Request, service: Service) -> Response:
        info = model_file(service, static)
        etag = f'"sha256-{info.sha256}"'
        # With the current hash in the URL the bytes never change; any other URL must ask again.
        cache = IMMUTABLE if request.query_params.get("v") == info.sha256[:SHORT_HASH] else REVALIDATE
        headers = {"etag": etag, "cache-control": cache}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return FileResponse(service.classifier.path, media_type="application/octet-stream", headers=headers)

    @router.get("/sw.js", include_in_schema=False)
    async def service_worker(service: Service) -> Response:
        source = service_worker_source(static, model_file(service, static))
        return Response(source, media_type="text/javascript", headers={"cache-control": REVALIDATE})

    @router.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> FileResponse:
        return FileResponse(static / "manifest.webmanifest", media_type="application/manifest+json")

    @router.get(VENDOR + "/{name}", include_in_schema=False)
    async def vendor(name: str, request: Request) -> FileResponse:
        """The runtime's files; its 14 MB WebAssembly binary goes gzip-compressed (3.7 MB) when it can."""
        path = static / "vendor" / "ort" / name
        if name.startswith(".") or not path.is_file():
            raise HTTPException(404, "Not Found")
        media = {".wasm": "application/wasm", ".mjs": "text/javascript"}.get(path.suffix)
        headers = {"cache-control": REVALIDATE, "vary": "accept-encoding"}
        packed = path.with_name(name + ".gz")
        if packed.is_file() and "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return FileResponse(packed, media_type=media, headers=headers)
        return FileResponse(path, media_type=media, headers=headers)

    return router
