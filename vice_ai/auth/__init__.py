"""Accounts, access rules and web security: many users on one server, none sees another's work.

Split by concern: `accounts` (users on disk, password hashes), `identity` (who
is asking: cookie, local user or proxy header), `access` (the rules), `csrf`
(cross-site refusals and security headers), `ratelimit`, `redaction`,
`cleanup` (archiving), `stats`, and the routes (`routes`, `sharing`, `pages`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from ..store import Store


def init_app(app: "Flask", store: "Store") -> None:
    """Wire accounts and security into an app (called by the factory before its blueprints)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import csrf, identity, pages, routes, sharing
    from .access import Access
    from .accounts import Accounts
    from .cleanup import Archiver
    from .errors import RateLimited
    from .ratelimit import RateLimits

    cfg = app.config
    if cfg["AUTH"] not in ("password", "local", "header"):
        raise ValueError(f"AUTH must be password, local or header, not {cfg['AUTH']!r}")
    accounts = Accounts(store, password_method=cfg["PASSWORD_METHOD"])
    limits = RateLimits(cfg["RATE_MESSAGES"], cfg["RATE_SIGNIN"], cfg["RATE_SIGNIN_IP"],
                        enabled=cfg["AUTH"] != "local")
    archiver = Archiver()
    archiver.init_app(app)
    app.extensions.update(vice_accounts=accounts, vice_access=Access(cfg["AUTH"], accounts), vice_limits=limits)
    if int(cfg["TRUST_PROXY"]) > 0:
        hops = int(cfg["TRUST_PROXY"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    csrf.init_app(app)
    identity.init_app(app)

    @app.errorhandler(RateLimited)
    def _rate_limited(err: RateLimited):
        from flask import jsonify

        return jsonify(err.to_dict()), err.status, {"Retry-After": str(err.retry_after)}

    app.register_blueprint(routes.bp)
    app.register_blueprint(sharing.bp)
    app.register_blueprint(pages.bp)
