"""The FastAPI application: the JSON API, the web page and offline docs.

    app = create_app("model.onnx", max_upload_mb=20)     # or create_app() for the bundled model

The classifier is loaded once, when the app is created, and handed to the routes (``APIRouter``s)
through one dependency (``deps.Service``), so tests and other hosts can swap it.

Serve it with :func:`server_options` (``uvicorn.run(app, **server_options())``, as ``cloudatlas
serve`` does): uvicorn's HTTP protocol with a deadline on request headers and a cap on open
connections, so clients that send slowly cannot hold the server.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from http import HTTPStatus
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..version import __version__
from ..inference import Classifier
from .docs import install_docs
from .errors import error_payload, install_error_handlers
from .head import HeadAsGet
from .headers import SecurityHeaders
from .deps import Service
from .pwa import page_response, pwa_router
from .schemas import ClassifyResponse, ErrorResponse, HealthResponse, LabelsResponse
from .service import ClassifierService, ServiceSettings
from .uploads import FIELD, read_photo_upload

STATIC = Path(__file__).parent / "static"
API = "/api/v1"
MAX_UPLOAD_ENV = "CLOUDATLAS_MAX_UPLOAD_MB"

DESCRIPTION = f"""\
Point a phone at the sky and get the cloud genus, or "that's not a cloud".

`POST {API}/classify` with a photo in the multipart field `{FIELD}`:

    curl -F {FIELD}=@sky.jpg http://127.0.0.1:8000{API}/classify

Errors come back as JSON `{{status, error, message}}` with a 4xx status and a sentence to show.
"""

_ERRORS = {
    400: {"model": ErrorResponse, "description": "malformed form or empty file"},
    408: {"model": ErrorResponse, "description": "the request or the upload arrived too slowly"},
    413: {"model": ErrorResponse, "description": "file over the upload limit"},
    415: {"model": ErrorResponse, "description": "not multipart, or the file is not an image"},
    422: {"model": ErrorResponse, "description": "no file, truncated image, too small, or too large to decode"},
}
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "string", "format": "binary",
                           "description": "the photo: JPEG, PNG, WebP, HEIC, ..."}}}}}}}


def api_router(static: Path) -> APIRouter:
    """The JSON API, health check and the page; every route gets the service as a dependency."""
    router = APIRouter()

    @router.post(f"{API}/classify", response_model=ClassifyResponse, responses=_ERRORS,
                 openapi_extra=_UPLOAD_BODY, tags=["classify"], summary="Name the cloud genus in a photo")
    async def classify(request: Request, service: Service,
                       cam: Annotated[bool, Query(description="add a 'where the model looked' heat map")] = False
                       ) -> ClassifyResponse:
        """Every genus with its probability, most likely first, and the verdict: a cloud photo, a
        clear sky, or not a sky photo at all."""
        started = time.perf_counter()
        upload = await read_photo_upload(request.headers, request.stream(), service.settings.max_upload_bytes)
        try:
            return await service.classify(upload, cam, started)
        finally:
            upload.close()

    @router.get(f"{API}/labels", response_model=LabelsResponse, tags=["labels"],
                summary="The genera the model knows, with a field-guide description")
    async def labels(service: Service) -> LabelsResponse:
        return LabelsResponse(labels=service.genera())

    @router.get("/healthz", response_model=HealthResponse, tags=["health"], summary="Liveness and the model in use")
    async def healthz(service: Service) -> HealthResponse:
        return HealthResponse(status="ok", model=service.model_info, gate=service.has_gate,
                              labels=len(service.classifier.labels))

    @router.get("/", include_in_schema=False)
    async def index(service: Service) -> HTMLResponse:
        return page_response(static, service)  # the page, saying how much its model downloads

    return router


def create_app(model_path: str | os.PathLike | None = None, max_upload_mb: float = 20, *,
               classifier: Classifier | None = None, settings: ServiceSettings | None = None) -> FastAPI:
    """The web app and API for ``model_path`` (default: the bundled model) or a loaded ``classifier``."""
    settings = dataclasses.replace(settings or ServiceSettings(), max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    service = ClassifierService(classifier, settings) if classifier else ClassifierService.load(model_path, settings)

    app = FastAPI(title="CloudAtlas", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    app.state.service = service
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)  # outermost: every layer below sees HEAD as the GET it answers like
    install_error_handlers(app)
    install_docs(app, "CloudAtlas")
    app.include_router(api_router(STATIC))
    app.include_router(pwa_router(STATIC, API))  # before /static: its vendor route must win
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: model from $CLOUDATLAS_MODEL."""
    return create_app(None, float(os.environ.get(MAX_UPLOAD_ENV, "20")))


# -- serving: slow clients ---------------------------------------------------------------------
HEADER_TIMEOUT_S = 10.0  # any real client sends a request's line and headers in one packet
MAX_CONNECTIONS = 256  # far above what phones and browsers open; each costs a descriptor and buffers


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on request headers and a cap on connections.

    uvicorn closes idle keep-alive connections, but a client that trickles its headers (a byte
    every 2 s) holds a connection forever. Here every request's headers must be complete within
    ``header_timeout`` of the connection opening or of the previous answer (else 408 and close),
    and a connection beyond ``max_connections`` is answered 503 and closed at once. Slow bodies
    are timed where they are read (uploads.py).
    """

    header_timeout = HEADER_TIMEOUT_S
    max_connections = MAX_CONNECTIONS
    _header_timer = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse(503, "server_busy", "The server has too many open connections; try again in a moment.")
            return
        self._arm_header_timer()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a new request's headers are complete
            self._cancel_header_timer()

    def handle_websocket_upgrade(self, event) -> None:
        self._cancel_header_timer()  # the connection is no longer HTTP's to time
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # first: a pipelined request parsed in super() cancels it again
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its body, if slow, is the upload's to time
        self._refuse(408, "request_timeout", f"The request did not arrive within {self.header_timeout:.0f} "
                                             f"seconds; check the connection and try again.")

    def _refuse(self, status: int, error: str, message: str) -> None:
        """Answer below the app, before any request is read, in the API's JSON shape; then close."""
        if self.transport.is_closing():
            return
        body = json.dumps(error_payload(status, error, message)).encode()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n")
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()


def server_options() -> dict:
    """uvicorn settings that keep slow clients from holding the server (``uvicorn.run(app, **...)``)."""
    return {"http": GuardedH11Protocol, "timeout_keep_alive": 5, "h11_max_incomplete_event_size": 16 * 1024}
