"""Web security for every request: cross-site refusals (CSRF) and the security headers.

A state-changing request (POST, PUT, PATCH, DELETE) must carry the custom
header `X-VICE-CSRF: 1`. A page on another site cannot add a custom header to
a form post, and a cross-site fetch that adds one needs a CORS preflight this
app never grants. On top of that, a request whose `Origin` is another origin
(scheme, host and port compared with the request's own; scheme and host
case-insensitively), or that the browser marks `Sec-Fetch-Site: cross-site` /
`same-site` (in any case), is refused, and a websocket handshake must come from
this site's pages. A request with `Authorization: Bearer <token>` (a script's API
token, not in local mode) skips these checks: a page of another site cannot send
that header without a CORS preflight either, and a wrong token is a 401.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from ..accounts.identity import uses_token
from ..errors import Forbidden
from .hosts import DEFAULT_PORTS, split_host

HEADER = "X-VICE-CSRF"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "connect-src 'self'", "img-src 'self' data:",
    "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _origin_of_request() -> tuple[str, str, int] | None:
    """This request's own origin: (scheme, host, port), after the trusted proxies."""
    scheme = request.scheme.lower()
    host = split_host(request.host) if request.host else None
    if host is None:
        return None
    return scheme, host[0], host[1] if host[1] is not None else DEFAULT_PORTS.get(scheme, 80)


def same_origin(origin: str) -> bool:
    """Whether an `Origin` header names this request's scheme, host and port ("null" never does)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return False  # not an origin a browser sends
    scheme = parts.scheme.lower()
    host = split_host(parts.netloc) if scheme in DEFAULT_PORTS and parts.netloc else None
    if host is None:
        return False
    mine = _origin_of_request()
    return mine is not None and (scheme, host[0], host[1] if host[1] is not None else DEFAULT_PORTS[scheme]) == mine


def _cross_site() -> bool:
    """True when the browser says the request comes from another site."""
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin):
        return True  # includes "null", sent by sandboxed frames and some redirects
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    return fetch_site in ("cross-site", "same-site")


def _check() -> None:
    if uses_token():
        return  # checked (or refused with 401) by accounts.identity before any view runs
    if request.path.startswith("/ws/"):
        if _cross_site():
            raise Forbidden("Websocket connections must come from this site.")
        return
    if request.method not in UNSAFE:
        return
    if _cross_site():
        raise Forbidden("Requests from other sites are refused.", reason="cross_site")
    if request.headers.get(HEADER) != "1":
        raise Forbidden(f"A request that changes something must carry the header {HEADER}: 1 "
                        "(the VICE AI pages send it).", reason="csrf_header_missing")


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Refuse cross-site requests before anything else runs; add the security headers to every answer."""
    app.before_request_funcs.setdefault(None, []).insert(0, _check)
    app.after_request(_headers)
