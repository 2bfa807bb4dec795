"""Web security for every request: trusted proxies, allowed hosts, cross-site refusals and security headers,
rate limits.

Who the user is lives in `accounts/` (identity, accounts, access rules); this
package is about how requests may arrive.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import csrf, hosts


def init_app(app: Flask) -> None:
    """Trust the configured reverse proxies, then refuse unknown hosts and cross-site requests before anything
    else runs (in that order)."""
    hops = int(app.config["TRUST_PROXY"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    csrf.init_app(app)
    hosts.init_app(app)  # inserted first: an unknown Host is refused before anything else
