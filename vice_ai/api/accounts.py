"""HTTP API for accounts: sign in/up/out and the user's own settings."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..errors import BadRequest, NotFound
from .validation import json_body
from ..accounts.users import User, check_password
from ..errors import Forbidden, Unauthorized
from ..accounts.identity import current_user, sign_in, sign_out
from ..services import services

bp = Blueprint("auth_api", __name__, url_prefix="/api")


def signed_in_user() -> User:
    user = current_user()
    if user is None:  # the gate lets only public endpoints through without a user
        raise Unauthorized("Sign in first.")
    return user


def password_mode() -> None:
    mode = current_app.config["AUTH"]
    if mode == "local":
        raise NotFound("Accounts are off: this server runs in local mode (VICE_AI_AUTH=local).")
    if mode == "header":
        raise NotFound("Sign-in is done by the reverse proxy in front of this server.")


def _credentials() -> tuple[str, str]:
    body = json_body({"username", "password"})
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not username.strip():
        raise BadRequest("'username' is required.", field="username")
    if not isinstance(password, str) or not password:
        raise BadRequest("'password' is required.", field="password")
    return username.strip(), password


def _me(user: User, notice: str | None = None) -> dict[str, Any]:
    llm = services().llm
    effective, note = llm.resolve(user.model)
    model: dict[str, Any] = {"preferred": user.model, "effective": effective, "default": llm.default_model}
    if notice or note:
        model["notice"] = notice or note
    return {"user": user.public(), "auth": current_app.config["AUTH"], "model": model,
            "last_activity": user.last_activity}


# -- signing in and out ---------------------------------------------------------------

@bp.post("/auth/signin")
def signin():
    password_mode()
    username, password = _credentials()
    services().limits.signin_attempt(request.remote_addr, username)
    user = services().accounts.authenticate(username, password)
    if user is None:
        services().limits.signin_failed(username)
        raise Unauthorized("Wrong username or password.")
    sign_in(user)
    return jsonify(_me(user))


@bp.post("/auth/signup")
def signup():
    """The first account (an admin) on a new server; later ones only when sign-up is open."""
    password_mode()
    username, password = _credentials()
    accounts = services().accounts
    first = accounts.count() == 0
    if not first and current_app.config["SIGNUP"] != "open":
        raise Forbidden("Sign-up is closed on this server: ask an admin to create your account.",
                        reason="signup_closed")
    services().limits.signin_attempt(request.remote_addr, username)
    user = accounts.create(username, password, first_only=first)
    sign_in(user)
    return jsonify(_me(user)), 201


@bp.post("/auth/signout")
def signout():
    password_mode()
    json_body(())
    sign_out()
    return jsonify({"signed_out": True})


# -- the user's own settings -----------------

@bp.get("/me")
def me():
    return jsonify(_me(signed_in_user()))


@bp.put("/me/model")
def set_model():
    """The model new chats use; an unknown model falls back to the server's default, and says so."""
    body = json_body({"model"})
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or len(model) > 200):
        raise BadRequest("'model' must be a model name or null.", field="model")
    notice = None
    if model:
        resolved, note = services().llm.resolve(model)
        if note:
            notice = f"Model \u201c{model}\u201d is not available; new chats use the default \u201c{resolved}\u201d."
            model = None
    user = services().accounts.update(signed_in_user().id, lambda u: setattr(u, "model", model or None))
    return jsonify(_me(user, notice))


@bp.put("/me/password")
def change_password():
    """Change one's password (the current one is required); other signed-in browsers are signed out."""
    password_mode()
    body = json_body({"current_password", "new_password"})
    user = signed_in_user()
    current = body.get("current_password")
    if not isinstance(current, str) or services().accounts.authenticate(user.username, current) is None:
        raise BadRequest("The current password is wrong.", field="current_password")
    check_password(body.get("new_password"), "new_password")
    updated = services().accounts.set_password(user.id, body["new_password"])
    sign_in(updated)  # this browser stays signed in with the new token version
    return jsonify(_me(updated))
