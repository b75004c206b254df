"""Security headers on every response; a strict Content-Security-Policy on the web pages.

The pages load nothing from other origins (no CDN), and the policy makes sure they never will.
'wasm-unsafe-eval' lets the app's page compile the model runtime's WebAssembly (its own static
file). No page may be framed by another site (``frame-ancestors 'none'``, and X-Frame-Options
for older browsers): a page of another origin framed the cleaner nearly invisibly, and one click
plus ``d`` deleted a photo. A plain ASGI middleware: it touches only the response start, never
the streamed request body.
"""
from __future__ import annotations

PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The cleaner's page: its own script and style, thumbnails from its own API, and nothing else.
CLEANER_CSP = ("default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """``csp`` on the page and its static files (or, with ``everywhere``, on every answer)."""

    def __init__(self, app, csp: str = PAGE_CSP, everywhere: bool = False):
        self.app = app
        self.csp = csp.encode()
        self.everywhere = everywhere

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_page = self.everywhere or scope["path"] == "/" or scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                headers.append((b"x-frame-options", b"DENY"))
                if is_page:
                    headers.append((b"content-security-policy", self.csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
