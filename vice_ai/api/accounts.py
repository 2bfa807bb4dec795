"""HTTP API for accounts: sign in/up/out and the user's own settings."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, jsonify, request

from ..accounts import service
from .declare import declare
from .schemas.accounts import ChangePasswordIn, CredentialsIn, MeOut, ModelPreferenceIn, SignedOutOut
from .schemas.sessions import NoBody

bp = Blueprint("auth_api", __name__, url_prefix="/api")
TAGS = ["accounts"]

F = TypeVar("F", bound=Callable[..., Any])


def guarded(check: Callable[[], Any]) -> Callable[[F], F]:
    """Run `check` before the declared view reads its body, so a route that is not there for this caller
    answers 404 whatever was sent (the declaration stays visible to the OpenAPI document)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


password_mode_only = guarded(service.require_password_mode)
admins_only = guarded(service.require_admin)


# -- signing in and out ---------------------------------------------------------------

@bp.post("/auth/signin")
@password_mode_only
@declare(body=CredentialsIn, responses={200: MeOut}, tags=TAGS)
def signin(body: CredentialsIn):
    """Sign in with a username and password (password mode); 401 for a wrong password, 429 over the limit."""
    user = service.sign_in_with_password(body.username, body.password, request.remote_addr)
    return jsonify(service.account_view(user))


@bp.post("/auth/signup")
@password_mode_only
@declare(body=CredentialsIn, responses={201: MeOut}, tags=TAGS)
def signup(body: CredentialsIn):
    """The first account (an admin) on a new server; later ones only when sign-up is open."""
    user = service.sign_up(body.username, body.password, request.remote_addr)
    return jsonify(service.account_view(user)), 201


@bp.post("/auth/signout")
@password_mode_only
@declare(body=NoBody, responses={200: SignedOutOut}, tags=TAGS)
def signout(body: NoBody):
    """Sign this browser out: its sign-in ends on the server (a copy of the cookie stops working too)."""
    service.sign_out()
    return jsonify({"signed_out": True})


@bp.post("/auth/signout-everywhere")
@password_mode_only
@declare(body=NoBody, responses={200: SignedOutOut}, tags=TAGS)
def signout_everywhere(body: NoBody):
    """Sign the user out of every browser, this one too; their open websockets close."""
    service.sign_out_everywhere(service.signed_in_user())
    return jsonify({"signed_out": True})


# -- the user's own settings -----------------

@bp.get("/me")
@declare(responses={200: MeOut}, tags=TAGS)
def me():
    """The signed-in user, the auth mode and the model their new chats use."""
    return jsonify(service.account_view(service.signed_in_user()))


@bp.put("/me/model")
@declare(body=ModelPreferenceIn, responses={200: MeOut}, tags=TAGS)
def set_model(body: ModelPreferenceIn):
    """The model new chats use; an unknown model falls back to the server's default, and says so."""
    user, notice = service.set_preferred_model(service.signed_in_user(), body.model)
    return jsonify(service.account_view(user, notice))


@bp.put("/me/password")
@password_mode_only
@declare(body=ChangePasswordIn, responses={200: MeOut}, tags=TAGS)
def change_password(body: ChangePasswordIn):
    """Change one's password (the current one is required); every other sign-in ends and its sockets close."""
    user = service.change_password(service.signed_in_user(), body.current_password, body.new_password)
    return jsonify(service.account_view(user))
