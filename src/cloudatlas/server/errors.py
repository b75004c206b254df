"""Every failure becomes JSON ``{status, error, message}`` with a sentence a person understands.

Nothing reaches the client as a traceback: unexpected exceptions are logged here and answered
with a plain 500 message.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..data.layout import printable

log = logging.getLogger("cloudatlas.server")

# Answers given before the body was read (too large, too slow): the client may still be sending a
# body we will not read, so the connection is closed rather than reused.
CLOSE_AFTER = frozenset({408, 413})


class ApiError(Exception):
    """``close``: end the connection after the answer, for answers given before the whole body was read."""

    def __init__(self, status: int, error: str, message: str, close: bool | None = None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.close = status in CLOSE_AFTER if close is None else close


def error_payload(status: int, error: str, message: str) -> dict:
    """The one shape of every error, also where the server answers below the app (slow clients)."""
    return {"status": status, "error": error, "message": message}


class PrintableJSONResponse(JSONResponse):
    """JSON that a file name which is not UTF-8 cannot break: its bytes are shown as ``\\xe9``
    escapes (Python holds them as lone surrogates, which UTF-8 cannot encode)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return super().render(_printable(content))


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    return value


def error_response(status: int, error: str, message: str, headers: dict | None = None) -> JSONResponse:
    return PrintableJSONResponse(error_payload(status, error, message), status_code=status, headers=headers)


_HTTP_MESSAGES = {
    404: ("not_found", "There is nothing at this address. The app is at / and the API under /api/v1 "
                       "(see /docs)."),
    405: ("method_not_allowed", "This address does not take that kind of request; see /docs for the API."),
}


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where or 'the request'}: {e.get('msg', 'is not valid')}")
    return "The request is not valid (" + "; ".join(parts) + ")."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"Connection": "close"} if exc.close else None
        return error_response(exc.status, exc.error, exc.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", str(exc.detail)))
        return error_response(exc.status_code, error, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error",
                              "Something went wrong on our side. Please try again in a moment.")
