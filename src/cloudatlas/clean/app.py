"""``cloudatlas clean``: a local web page to review and fix a photo set, on the app's stack.

FastAPI + uvicorn serve one static page (vanilla JS, nothing from a CDN) and a small JSON API.
Every decision is sent as it is made and applied at once through the journal, so the page holds
no unsaved state: switching label or filter, reloading or closing the tab loses nothing.
"""
from __future__ import annotations

import io
from collections import OrderedDict
from importlib import resources
from pathlib import Path

from ..imageio import ImageLoadError, load_image
from .journal import JournalError
from .review import KINDS, Review

STATIC = "static"
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


def create_app(data_dir: str | Path, review: Review | None = None, model: str | Path | None = None,
               find_issues: bool = True, progress: bool | None = False):
    """The cleaner for ``data_dir``.

    ``review``: a prepared :class:`Review` (the CLI builds it first, with progress bars).
    Otherwise the audit runs here, and with ``find_issues`` also the label-issue search with
    ``model`` (default: the bundled model); if that is impossible the page says why.
    """
    from fastapi import Body, FastAPI, HTTPException
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    if review is None:
        review = build_review(data_dir, model=model, find_issues=find_issues, progress=progress)
    thumbs = _Thumbnails()
    app = FastAPI(title="CloudAtlas cleaner", docs_url=None, redoc_url=None)
    app.state.review = review
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
            raise HTTPException(404, f"No photo #{item_id}.")
        return review.items[item_id]

    def changed(views: list[dict]) -> dict:
        return {"items": views, "journal": review.journal_view()}

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(_static_dir() / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/state")
    def get_state():
        return JSONResponse(state(), headers={"Cache-Control": "no-store"})

    @app.get("/api/photo/{item_id}")
    def photo(item_id: int, size: int = 360):
        item = item_or_404(item_id)
        size = max(32, min(int(size), 1600))
        try:
            data = thumbs.get(review.root / item.path, size)
        except (ImageLoadError, OSError) as err:
            raise HTTPException(415, str(err)) from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    def action(item_id: int, name: str, label: str | None = None) -> dict:
        item_or_404(item_id)
        try:
            return changed(review.act(item_id, name, label))
        except JournalError as err:
            raise HTTPException(409, str(err)) from None

    @app.post("/api/items/{item_id}/keep")
    def keep(item_id: int):
        return action(item_id, "keep")

    @app.post("/api/items/{item_id}/delete")
    def delete(item_id: int):
        return action(item_id, "delete")

    @app.post("/api/items/{item_id}/move")
    def move(item_id: int, body: dict = Body(...)):
        return action(item_id, "move", str(body.get("label", "")))

    @app.post("/api/undo")
    def undo(body: dict | None = Body(None)):
        entry = (body or {}).get("entry")
        try:
            return changed(review.undo(int(entry) if entry is not None else None))
        except (JournalError, ValueError) as err:
            raise HTTPException(409, str(err)) from None

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
        from ..data.dataset import DataError
        from ..data.label_issues import find_label_issues
        from ..inference import ModelError

        try:
            issues = find_label_issues(data_dir, model=model, progress=progress)
        except (ModelError, DataError) as err:
            notes.append(f"Suspicious labels not searched: {err}")
    else:
        notes.append("Suspicious labels not searched (started without a model).")
    return Review(data_dir, report=report, issues=issues, notes=notes)
