"""/docs that works offline: Swagger UI served from the swagger-ui-bundle package, not a CDN.

FastAPI's built-in /docs loads Swagger UI from jsDelivr, which fails on a phone hotspot or an
air-gapped laptop. Without the package installed, /docs falls back to a plain page that links
the machine-readable schema at /openapi.json.

The examples name the address the docs were opened at: the app's description is written with
a local example (``http://127.0.0.1:8000``), which /docs/openapi.json replaces with the host and
port of the request, so that a phone on the LAN or ``--port 9000`` sees a command that works.
"""
from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
SCHEMA = "/docs/openapi.json"  # the schema as the docs show it: with this request's address
EXAMPLE_HOST = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0)(?::\d+)?")


def here(request: Request) -> str:
    """The address this request came to, as the browser wrote it (``http://192.168.1.5:9000``)."""
    return str(request.base_url).rstrip("/")


def schema_here(app: FastAPI, base: str) -> dict:
    schema = copy.deepcopy(app.openapi())
    info = schema.setdefault("info", {})
    if info.get("description"):
        info["description"] = EXAMPLE_HOST.sub(base, info["description"])
    schema["servers"] = [{"url": base}]
    return schema


def _swagger_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, title: str) -> None:
    assets = _swagger_dir()
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="swagger-assets")

    @app.get(SCHEMA, include_in_schema=False)
    async def schema(request: Request) -> JSONResponse:
        return JSONResponse(schema_here(app, here(request)))

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        if assets is None:
            base = html.escape(here(request))
            return HTMLResponse(
                f"<!doctype html><html lang=en><meta charset=utf-8><title>{title} API</title>"
                f"<h1>{title} API</h1><p>The interactive docs need the <code>swagger-ui-bundle-v2</code> "
                f"package. The OpenAPI schema is at <a href='{SCHEMA}'>{base}{SCHEMA}</a>.</p>")
        return get_swagger_ui_html(
            openapi_url=SCHEMA, title=f"{title} API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0})
