"""Who is asking: the signed-in user (session cookie), the local user, or a trusted proxy's header.

Every request is identified before its view runs. Without a user, API calls
answer 401 (the only 401 of the app), websocket handshakes are refused with
the same, and pages redirect to sign-in (or to first-run setup).

A password-mode cookie names a sign-in the server keeps in the user's file
(`Credential`: the user, their generation and the sign-in's id); it works only
while that sign-in is current, so signing out on the server ends every copy of
the cookie, and an open websocket re-checks it before every command.

A script may instead send `Authorization: Bearer <token>` (password and header
modes; see `tokens`): the token alone then decides who is asking, and a token
that is not valid is a 401 whatever cookie or proxy header comes with it.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from flask import Flask, current_app, g, has_request_context, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from ..errors import BadRequest, Conflict, Unauthorized
from ..services import services
from .tokens import TokenCredential, Tokens
from .users import Accounts, User

# Reachable without a user: the sign-in and sign-up pages and calls, health checks, static files.
PUBLIC_ENDPOINTS = frozenset({
    "static", "system.health", "openapi.openapi_document", "openapi.reference_page", "openapi.asset",
    "auth_pages.signin", "auth_pages.signup",
    "auth_api.signin", "auth_api.signup", "auth_api.signout",
})


def accounts() -> Accounts:
    return services().accounts


class Credential(NamedTuple):
    """What a password-mode cookie says: whose it is, the user's generation, the sign-in's id."""

    user_id: str
    token_version: int
    sign_in: str


def tokens() -> Tokens:
    return services().tokens


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header ("" for a Bearer header without one), or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def uses_token() -> bool:
    """Whether this request authenticates with a bearer token (never in local mode, which has no sign-in):
    such a request cannot come from a browser page of another site, so it needs no CSRF header."""
    return current_app.config["AUTH"] != "local" and bearer_token() is not None


def current_token() -> TokenCredential | None:
    """The token this request was made with, or None (a cookie, the proxy header or local mode)."""
    found = g.get("vice_token")
    return found if isinstance(found, TokenCredential) else None


def socket_credential() -> Credential | TokenCredential | None:
    """What a websocket opened now depends on: its token, or in password mode its cookie's sign-in."""
    token = current_token()
    if token is not None:
        return token
    return current_credential() if current_app.config["AUTH"] == "password" else None


def current_user() -> User | None:
    """The user of this request (or of an app context a worker set up), or None."""
    return g.get("vice_user")


def current_credential() -> Credential | None:
    """The sign-in this request's cookie names (password mode), or None."""
    uid, tv, sid = session.get("uid"), session.get("tv"), session.get("sid")
    if isinstance(uid, str) and isinstance(tv, int) and isinstance(sid, str):
        return Credential(uid, tv, sid)
    return None


def is_current(credential: Credential | TokenCredential | None) -> bool:
    """Whether a sign-in (or a token) still holds (read fresh: another process may have ended it)."""
    if isinstance(credential, TokenCredential):
        return tokens().is_valid(credential)
    if credential is None:
        return False
    user = accounts().get(credential.user_id)
    return user is not None and user.is_signed_in(credential.token_version, credential.sign_in)


def sign_in(user: User) -> User:
    """Start a signed-in browser session: a new sign-in on the server and a fresh cookie naming it
    (so an old cookie cannot be fixed on a victim)."""
    user, sign_in_id = accounts().start_sign_in(user.id, float(current_app.config["SESSION_DAYS"]))
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["tv"] = user.token_version
    session["sid"] = sign_in_id
    g.vice_user = user
    accounts().touch(user)
    return user


def sign_out() -> Credential | None:
    """End this browser's sign-in on the server (every copy of its cookie stops working) and clear the cookie."""
    credential = current_credential()
    if credential is not None:
        accounts().end_sign_in(credential.user_id, credential.sign_in)
    session.clear()
    g.vice_user = None
    return credential


def _from_header(accs: Accounts) -> User | None:
    """Header mode: the reverse proxy already authenticated the user; accounts are made on first sight."""
    name = request.headers.get(current_app.config["AUTH_HEADER"], "").strip()
    if not name:
        return None
    user = accs.by_username(name)
    if user is None:
        try:
            user = accs.create(name, None, with_password=False)
        except Conflict:  # created by a parallel request
            user = accs.by_username(name)
        except BadRequest:
            return None  # a name we cannot use as a username
    return user


def resolve_user() -> User | None:
    """The user this request comes from, by the app's auth mode."""
    accs = accounts()
    mode = current_app.config["AUTH"]
    if uses_token():
        found = tokens().authenticate(bearer_token() or "")
        if found is None:
            raise Unauthorized("This API token is not valid: it was revoked or mistyped.", reason="bad_token")
        g.vice_token = found[1]
        return found[0]
    if mode == "local":
        return accs.local_user()
    if mode == "header":
        return _from_header(accs)
    uid = session.get("uid")
    if not isinstance(uid, str):
        return None
    user = accs.get(uid)
    if user is None or not user.is_signed_in(session.get("tv"), session.get("sid")):
        session.clear()  # a deleted account, a sign-in ended on the server, or a password changed since
        return None
    return user


def _gate():
    g.vice_token = None
    user = resolve_user()
    g.vice_user = user
    if user is not None:
        accounts().touch(user)
        return None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.path.startswith(("/api/", "/ws/")):
        raise Unauthorized("Sign in first.")
    if current_app.config["AUTH"] == "header":
        header = current_app.config["AUTH_HEADER"]
        return render_template("not_found.html", message=f"Your reverse proxy did not send {header}."), 403
    if accounts().count() == 0:
        return redirect(url_for("auth_pages.signup"))
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth_pages.signin") + "?next=" + quote(target, safe="/"))


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure when configured or when the request itself is https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def secret_key(data_dir: str) -> str:
    """The key that signs cookies: made once and kept in <data>/secret_key (0600), so restarts sign nobody out."""
    path = Path(data_dir) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret_key.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first: then theirs wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    """Cookie settings, the secret key, and the identify-or-refuse step before every request."""
    cfg = app.config
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = secret_key(cfg["DATA_DIR"])
    cfg["SESSION_COOKIE_NAME"] = "vice_ai_session"
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = bool(cfg["SECURE_COOKIES"])
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(days=float(cfg["SESSION_DAYS"]))
    app.session_interface = _CookieSessions()
    app.before_request(_gate)

    @app.context_processor
    def _user_in_templates():
        return {"current_user": g.get("vice_user"), "auth_mode": cfg["AUTH"]}
