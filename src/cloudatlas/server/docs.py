"""/docs that works offline: Swagger UI served from the swagger-ui-bundle package, not a CDN.

FastAPI's built-in /docs loads Swagger UI from jsDelivr, which fails on a phone hotspot or an
air-gapped laptop. Without the package installed, /docs falls back to a plain page that links
the machine-readable schema at /openapi.json.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


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

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(
                f"<!doctype html><html lang=en><meta charset=utf-8><title>{title} API</title>"
                f"<h1>{title} API</h1><p>The interactive docs need the <code>swagger-ui-bundle-v2</code> "
                f"package. The OpenAPI schema is at <a href='{app.openapi_url}'>{app.openapi_url}</a>.</p>")
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{title} API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0})
