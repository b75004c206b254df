"""Only the cleaner's own page may change the data set.

The cleaner listens on this computer, but any web page open in the same browser can send it
requests. Three checks close that door:

* **Host**: the request must name the cleaner's own address (loopback names, the address the
  connection came in on, or a name it was started with). A page on a rebinding domain
  (``evil.example`` resolving to 127.0.0.1) sends ``Host: evil.example`` and is refused.
* **Origin**: a request that says which page sent it must come from the cleaner's own origin.
* **Token**: a random secret made at start is written into the page; every request that can
  change files must carry it in ``X-CloudAtlas-Token``. Other pages cannot read it (same-origin
  policy), so a form post or ``text/plain`` fetch from elsewhere cannot forge it.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

TOKEN_HEADER = "X-CloudAtlas-Token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
READ_METHODS = ("GET", "HEAD")  # every other method may change files
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?$")
_ORIGIN = re.compile(r"^(https?)://(.+)$")
_DEFAULT_PORT = {"http": 80, "https": 443}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def parse_host(value: str, scheme: str = "http") -> tuple[str, int] | None:
    """``host[:port]`` as (lower-case name without brackets, port); None when malformed
    (userinfo, paths and the like have no place in a Host header)."""
    match = _HOST.match(value.strip())
    if match is None:
        return None
    name, port = match.group(1).strip("[]").lower(), match.group(2)
    return name, int(port) if port else _DEFAULT_PORT.get(scheme, 80)


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """``scheme://host[:port]`` as (scheme, name, port); None for ``null`` or anything else."""
    match = _ORIGIN.match(value.strip())
    if match is None:
        return None
    host = parse_host(match.group(2), match.group(1))
    return (match.group(1), *host) if host else None


@dataclass
class Guard:
    """The checks, given the request's scope-level facts; each returns a refusal or None."""

    token: str = field(default_factory=new_token)
    names: tuple[str, ...] = ()  # host names besides loopback, e.g. the --host it was started with

    def check(self, method: str, scheme: str, server: tuple[str, int] | None, headers) -> str | None:
        """Why this request is refused, or None to let it through."""
        host = parse_host(headers.get("host", ""), scheme)
        if host is None or not self._own_host(host, server):
            return (f"This cleaner only answers at its own address; the request was for "
                    f"{headers.get('host', 'no host')!r}. Open the address the cleaner printed.")
        origin = headers.get("origin")
        if origin is not None and parse_origin(origin) != (scheme, *host):
            return (f"Requests from other web pages ({origin}) are refused: the data set can only be "
                    f"changed from the cleaner's own page.")
        if method not in READ_METHODS and not secrets.compare_digest(
                headers.get(TOKEN_HEADER.lower(), "").encode(), self.token.encode()):
            return (f"Missing or wrong {TOKEN_HEADER}: changes are only accepted from the cleaner's own "
                    f"page (reload it if the cleaner was restarted).")
        return None

    def _own_host(self, host: tuple[str, int], server: tuple[str, int] | None) -> bool:
        # The server address is the local end of this very connection: with --host 0.0.0.0 that
        # is the interface the browser reached, so a LAN address works and a rebound name does not.
        names = {*LOOPBACK_NAMES, *(n.strip("[]").lower() for n in self.names)}
        if server is not None:
            names.add(str(server[0]).strip("[]").lower())
            return host[0] in names and host[1] == server[1]
        return host[0] in names  # a Unix socket has no port to compare


def install_guard(app, guard: Guard) -> None:
    """Refuse, with the JSON error of the API, every request that fails :meth:`Guard.check`."""
    from ..server.errors import error_response

    @app.middleware("http")
    async def only_own_page(request, call_next):
        server = request.scope.get("server")
        refusal = guard.check(request.method, request.scope.get("scheme", "http"),
                              tuple(server) if server else None, request.headers)
        if refusal is not None:
            return error_response(403, "forbidden", refusal)
        return await call_next(request)
