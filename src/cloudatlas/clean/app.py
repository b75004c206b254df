"""``cloudatlas clean``: a local web page to review and fix a photo set, on the app's stack.

FastAPI + uvicorn serve one static page (vanilla JS, nothing from a CDN) and a small JSON API.
Every decision is sent as it is made and applied at once through the journal, so the page holds
no unsaved state: switching label or filter, reloading or closing the tab loses nothing.

Request bodies are typed (pydantic) and every failure is the main API's JSON error
``{status, error, message}``; only the cleaner's own page may change files (see ``guard``).
"""
from __future__ import annotations

import io
from collections import OrderedDict
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..imageio import ImageLoadError, load_image
from .guard import Guard, install_guard
from ..data.journal import has_control_chars
from ..errors import JournalError
from .review import KINDS, Review

STATIC = "static"
TOKEN_PLACEHOLDER = "__CLOUDATLAS_TOKEN__"  # in index.html; replaced by this run's token
_THUMB_CACHE = 512  # thumbnails kept in memory (about 20 kB each)


def _static_dir() -> Path:
    return Path(str(resources.files("cloudatlas.clean") / STATIC))


class _Thumbnails:
    """Small JPEG previews, cached by path, size and modification time."""

    def __init__(self, limit: int = _THUMB_CACHE):
        self.limit = limit
        self.cache: OrderedDict[tuple, bytes] = OrderedDict()

    def get(self, path: Path, size: int) -> bytes:
        stat = path.stat()
        key = (str(path), size, stat.st_mtime_ns, stat.st_size)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        img = load_image(path, min_size=size)
        img.thumbnail((size, size))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=82)
        data = buffer.getvalue()
        self.cache[key] = data
        if len(self.cache) > self.limit:
            self.cache.popitem(last=False)
        return data


class MoveRequest(BaseModel):
    """Body of a move: the label (code, name or folder name) to file the photo under."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100)

    @field_validator("label")
    @classmethod
    def _printable(cls, label: str) -> str:
        # NUL would reach the file system as a ValueError, not a refusal.
        if has_control_chars(label):
            raise ValueError("a label cannot contain control characters")
        return label


class UndoRequest(BaseModel):
    """Body of an undo: the journal entry to reverse; none for the last change still in effect."""

    model_config = ConfigDict(extra="forbid")
    entry: int | None = Field(None, ge=1, strict=True)  # strict: 1.5, "1", true are not entry numbers


_CLEANER_HTTP_ERRORS = {
    404: ("not_found", "There is nothing at this address; the cleaner's page is at /."),
    405: ("method_not_allowed", "This address does not take that kind of request."),
}


def _install_errors(app) -> None:
    """The main API's error handlers (one JSON shape, no tracebacks), with the cleaner's own
    words for addresses that do not exist (the API's mention /api/v1, which is not here)."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ..server.errors import error_response, install_error_handlers

    install_error_handlers(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException):
        error, message = _CLEANER_HTTP_ERRORS.get(exc.status_code, ("http_error", str(exc.detail)))
        return error_response(exc.status_code, error, message, getattr(exc, "headers", None))


def _index_html(token: str) -> str:
    return (_static_dir() / "index.html").read_text(encoding="utf-8").replace(TOKEN_PLACEHOLDER, token)


def create_app(data_dir: str | Path, review: Review | None = None, model: str | Path | None = None,
               find_issues: bool = True, progress: bool | None = False, hosts: tuple[str, ...] = ()):
    """The cleaner for ``data_dir``.

    ``review``: a prepared :class:`Review` (the CLI builds it first, with progress bars).
    Otherwise the audit runs here, and with ``find_issues`` also the label-issue search with
    ``model`` (default: the bundled model); if that is impossible the page says why.
    ``hosts``: names besides loopback and the listening address that the page may be opened
    at (a ``--host`` given as a name); requests naming any other host are refused.
    """
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, Response
    from fastapi.staticfiles import StaticFiles

    from ..server.errors import ApiError, PrintableJSONResponse
    from ..server.head import HeadAsGet
    from ..server.headers import CLEANER_CSP, SecurityHeaders

    if review is None:
        review = build_review(data_dir, model=model, find_issues=find_issues, progress=progress)
    thumbs = _Thumbnails()
    guard = Guard(names=tuple(hosts))
    # Printable JSON: a file name that is not UTF-8 is shown with escapes, not a 500 for the page.
    app = FastAPI(title="CloudAtlas cleaner", docs_url=None, redoc_url=None, openapi_url=None,
                  default_response_class=PrintableJSONResponse)
    app.state.review = review
    app.state.guard = guard
    _install_errors(app)
    install_guard(app, guard)
    # No other site may frame the page (a near-invisible frame, a click and 'd' deleted a photo).
    app.add_middleware(SecurityHeaders, csp=CLEANER_CSP, everywhere=True)
    app.add_middleware(HeadAsGet)
    # The API client the cleaner's script shares with the phone page (fetch + the JSON error shape).
    shared = Path(str(resources.files("cloudatlas.server") / STATIC / "shared"))
    app.mount("/static/shared", StaticFiles(directory=shared), name="shared")
    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")

    def state() -> dict:
        with review.lock:
            return _state()

    def _state() -> dict:
        views = review.views()
        counts = {k: sum(1 for v in views if k in v["kinds"]) for k in KINDS}
        return {"root": str(review.root), "labels": review.labels, "kinds": list(KINDS), "kind_counts": counts,
                "items": views, "journal": review.journal_view(), "notes": review.notes,
                "trash": str(review.root / ".trash")}

    def item_or_404(item_id: int):
        if not 0 <= item_id < len(review.items):
            raise ApiError(404, "not_found", f"No photo #{item_id}.")
        return review.items[item_id]

    def changed(views: list[dict]) -> dict:
        return {"items": views, "journal": review.journal_view()}

    @app.get("/", include_in_schema=False)
    def index():
        # The page carries this run's token; no-store, so a restarted cleaner's page gets the new one.
        return HTMLResponse(_index_html(guard.token), headers={"Cache-Control": "no-store"})

    @app.get("/api/state")
    def get_state():
        return PrintableJSONResponse(state(), headers={"Cache-Control": "no-store"})

    @app.get("/api/photo/{item_id}")
    def photo(item_id: int, size: int = 360):
        item = item_or_404(item_id)
        size = max(32, min(int(size), 1600))
        try:
            data = thumbs.get(review.root / item.path, size)
        except (ImageLoadError, OSError) as err:
            raise ApiError(415, "unreadable_photo", str(err)) from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    def refused(err: JournalError) -> ApiError:
        return ApiError(409, "not_done", str(err))

    def action(item_id: int, name: str, label: str | None = None) -> dict:
        item_or_404(item_id)
        try:
            return changed(review.act(item_id, name, label))
        except JournalError as err:
            raise refused(err) from None

    @app.post("/api/items/{item_id}/keep")
    def keep(item_id: int):
        return action(item_id, "keep")

    @app.post("/api/items/{item_id}/delete")
    def delete(item_id: int):
        return action(item_id, "delete")

    @app.post("/api/items/{item_id}/move")
    def move(item_id: int, body: MoveRequest):
        return action(item_id, "move", body.label)

    @app.post("/api/undo")
    def undo(body: UndoRequest | None = None):
        try:
            return changed(review.undo(body.entry if body else None))
        except JournalError as err:
            raise refused(err) from None

    @app.get("/api/journal")
    def journal():
        return {"summary": review.journal.summary(), "entries": review.journal_view(limit=10_000)}

    return app


def build_review(data_dir: str | Path, model: str | Path | None = None, find_issues: bool = True,
                 progress: bool | None = None) -> Review:
    """Audit ``data_dir`` and, when possible, rank its labels; problems become notes, not crashes."""
    from ..data.audit import audit

    report = audit(data_dir, progress=progress)
    notes: list[str] = []
    issues = None
    if find_issues:
        from ..data.label_issues import find_label_issues
        from ..errors import CloudAtlasError

        try:
            issues = find_label_issues(data_dir, model=model, progress=progress)
        except CloudAtlasError as err:
            notes.append(f"Suspicious labels not searched: {err}")
    else:
        notes.append("Suspicious labels not searched (started without a model).")
    return Review(data_dir, report=report, issues=issues, notes=notes)
