"""The FastAPI application: the JSON API, the web page and offline docs.

    app = create_app("model.onnx", max_upload_mb=20)     # or create_app() for the bundled model

The classifier is loaded once, when the app is created, and handed to the routes through a
dependency (``get_service``), so tests and other hosts can swap it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..inference import Classifier
from .docs import install_docs
from .errors import install_error_handlers
from .headers import SecurityHeaders
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
    413: {"model": ErrorResponse, "description": "file over the upload limit"},
    415: {"model": ErrorResponse, "description": "not multipart, or the file is not an image"},
    422: {"model": ErrorResponse, "description": "no file, truncated image, or a decompression bomb"},
}
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "string", "format": "binary",
                           "description": "the photo: JPEG, PNG, WebP, HEIC, ..."}}}}}}}


def get_service(request: Request) -> ClassifierService:
    return request.app.state.service


Service = Annotated[ClassifierService, Depends(get_service)]


def create_app(model_path: str | os.PathLike | None = None, max_upload_mb: float = 20, *,
               classifier: Classifier | None = None, settings: ServiceSettings | None = None) -> FastAPI:
    """The web app and API for ``model_path`` (default: the bundled model) or a loaded ``classifier``."""
    settings = settings or ServiceSettings()
    service = ClassifierService(classifier, settings) if classifier else ClassifierService.load(model_path, settings)
    max_bytes = int(max_upload_mb * 1024 * 1024)

    app = FastAPI(title="CloudAtlas", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    app.state.service = service
    app.state.max_upload_bytes = max_bytes
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    install_docs(app, "CloudAtlas")

    @app.post(f"{API}/classify", response_model=ClassifyResponse, responses=_ERRORS,
              openapi_extra=_UPLOAD_BODY, tags=["classify"], summary="Name the cloud genus in a photo")
    async def classify(request: Request, service: Service,
                       cam: Annotated[bool, Query(description="add a 'where the model looked' heat map")] = False
                       ) -> ClassifyResponse:
        """Every genus with its probability, most likely first, and whether the image looks like a
        sky photo at all (`is_cloud`; `null` when the model has no gate)."""
        started = time.perf_counter()
        upload = await read_photo_upload(request.headers, request.stream(), max_bytes)
        try:
            return await service.classify(upload, cam, started)
        finally:
            upload.close()

    @app.get(f"{API}/labels", response_model=LabelsResponse, tags=["labels"],
             summary="The genera the model knows, with a field-guide description")
    async def labels(service: Service) -> LabelsResponse:
        return LabelsResponse(labels=service.genera())

    @app.get("/healthz", response_model=HealthResponse, tags=["health"], summary="Liveness and the model in use")
    async def healthz(service: Service) -> HealthResponse:
        return HealthResponse(status="ok", model=service.model_info, gate=service.has_gate,
                              labels=len(service.classifier.labels))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: model from $CLOUDATLAS_MODEL."""
    return create_app(None, float(os.environ.get(MAX_UPLOAD_ENV, "20")))
