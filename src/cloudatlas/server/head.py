"""``HEAD`` answers every address that ``GET`` answers, with GET's headers and no body.

HTTP says a server that answers GET answers HEAD too (link checkers, uptime monitors and caches
ask with HEAD). Starlette's plain routes and StaticFiles do; FastAPI's routes take only the
methods they declare, so ``HEAD /`` and ``HEAD /model.onnx`` were 405. A plain ASGI middleware:
the request runs as a GET and the body it answers is dropped, Content-Length included as GET
would send it. Used by the API and by the cleaner.
"""
from __future__ import annotations


class HeadAsGet:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def send_headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a chunk of a body HEAD does not send
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server's own scope still says HEAD, so it sends no body either.
        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
