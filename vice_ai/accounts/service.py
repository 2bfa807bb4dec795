"""What the account and admin routes do: who may call them, signing in and up, one's own settings, new accounts.

Input arrives validated in shape (strings, lengths); the rules about usernames and
passwords live in `users`, the rate limits in `security.ratelimit`.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from ..errors import BadRequest, Forbidden, NotFound, Unauthorized
from ..live.revocation import Revocation
from ..services import services
from . import identity
from .identity import Credential, current_token, current_user, sign_in
from .tokens import TokenCredential
from .users import LOCAL_ID, User


def signed_in_user() -> User:
    """The user of this request; 401 without one (the gate lets only public endpoints through without a user)."""
    user = current_user()
    if user is None:
        raise Unauthorized("Sign in first.")
    return user


def require_admin() -> User:
    """The admin making the request; anyone else gets the same 404 as for a route that is not there."""
    user = signed_in_user()
    if not user.is_admin:
        raise NotFound("The requested URL was not found on the server.")
    return user


def require_password_mode() -> None:
    """Accounts with passwords exist only with VICE_AI_AUTH=password; elsewhere these routes are not there (404)."""
    mode = current_app.config["AUTH"]
    if mode == "local":
        raise NotFound("Accounts are off: this server runs in local mode (VICE_AI_AUTH=local).")
    if mode == "header":
        raise NotFound("Sign-in is done by the reverse proxy in front of this server.")


def account_view(user: User, notice: str | None = None) -> dict[str, Any]:
    """`me`: the user, the auth mode, and the model their new chats use (with a notice when it fell back)."""
    llm = services().llm
    effective, note = llm.resolve(user.model)
    model: dict[str, Any] = {"preferred": user.model, "effective": effective, "default": llm.default_model}
    if notice or note:
        model["notice"] = notice or note
    return {"user": user.public(), "auth": current_app.config["AUTH"], "model": model,
            "last_activity": user.last_activity}


def sign_in_with_password(username: str, password: str, remote_addr: str | None) -> User:
    """Check a password (within the sign-in rate limits) and sign the browser in; 401 if it is wrong."""
    found = services()
    found.limits.signin_attempt(remote_addr, username)
    user = found.accounts.authenticate(username, password)
    if user is None:
        found.limits.signin_failed(remote_addr, username)
        raise Unauthorized("Wrong username or password.")
    return sign_in(user)


def sign_up(username: str, password: str, remote_addr: str | None) -> User:
    """The first account (an admin) on a new server; later ones only when sign-up is open. Signs the browser in."""
    found = services()
    first = found.accounts.count() == 0
    if not first and current_app.config["SIGNUP"] != "open":
        raise Forbidden("Sign-up is closed on this server: ask an admin to create your account.",
                        reason="signup_closed")
    found.limits.signin_attempt(remote_addr, username)
    user = found.accounts.create(username, password, first_only=first)
    return sign_in(user)


def close_sockets(user_id: str, keep: Credential | None = None, only: Credential | None = None) -> int:
    """Close a user's open websockets (in every process, with Redis) whose sign-in ended: all of them but `keep`'s,
    or only `only`'s. Each gets an `unauthorized` error event, then closes."""

    # A description, not a closure: with Redis every process applies it to its own sockets.
    ended = Revocation(user_id, keep=tuple(keep) if keep else None, only=tuple(only) if only else None)
    return services().hub.disconnect(ended, Unauthorized("You were signed out.", retryable=False))


def sign_out() -> None:
    """Sign this browser out on the server (every copy of its cookie stops working); its sockets close."""
    credential = identity.sign_out()
    if credential is not None:
        close_sockets(credential.user_id, only=credential)


def sign_out_everywhere(user: User) -> None:
    """End every sign-in of the user, this browser's too; all their sockets close."""
    services().accounts.end_all_sign_ins(user.id)
    identity.sign_out()
    close_sockets(user.id)


def set_preferred_model(user: User, model: str | None) -> tuple[User, str | None]:
    """Remember the model new chats use; an unavailable one is not kept, and the notice says so."""
    notice = None
    if model:
        resolved, note = services().llm.resolve(model)
        if note:
            notice = f"Model \u201c{model}\u201d is not available; new chats use the default \u201c{resolved}\u201d."
            model = None
    return services().accounts.update(user.id, lambda u: setattr(u, "model", model or None)), notice


def change_password(user: User, current: str, new: str) -> User:
    """Change a password (the current one must be right): every sign-in ends and their sockets close;
    this browser is signed in again with a new cookie."""
    accounts = services().accounts
    if accounts.authenticate(user.username, current) is None:
        raise BadRequest("The current password is wrong.", field="current_password")
    if current_token() is not None:  # a script with a token: no browser to sign in again
        updated = accounts.set_password(user.id, new)
        close_sockets(user.id)
        return updated
    updated = sign_in(accounts.set_password(user.id, new))
    close_sockets(user.id, keep=identity.current_credential())
    return updated


def create_account(username: str, password: str, is_admin: bool) -> User:
    """An account made by an admin (the way in when sign-up is closed)."""
    return services().accounts.create(username, password, is_admin=is_admin)


# -- admins: other people's accounts ---------------------------------------------------

def load_account(user_id: str) -> User:
    """An account by id, or the same 404 as for a route that is not there."""
    user = services().accounts.get(user_id) if user_id != LOCAL_ID else None  # "local" is not an account
    if user is None:
        raise NotFound("No such user.")
    return user


def set_admin(user_id: str, is_admin: bool) -> User:
    """Make an account an admin or not; 409 for the last admin."""
    return services().accounts.set_admin(load_account(user_id).id, is_admin)


def reset_password(admin: User, user_id: str, new: str) -> User:
    """An admin sets another user's password (they forgot it): every sign-in of that user ends, their
    sockets close; their API tokens stay. One's own password is changed with the current one instead."""
    user = load_account(user_id)
    if user.id == admin.id:
        raise BadRequest("Change your own password on your account page: it needs the current one.",
                         field="user_id")
    updated = services().accounts.set_password(user.id, new)
    close_sockets(user.id)
    return updated


# -- API tokens -------------------------------------------------------------------------

def require_token_mode() -> None:
    """API tokens exist in password and header modes; local mode has no sign-in at all (404)."""
    if current_app.config["AUTH"] == "local":
        raise NotFound("Accounts are off: this server runs in local mode (VICE_AI_AUTH=local), no token is needed.")


def list_tokens(user: User) -> list[dict[str, Any]]:
    return services().tokens.list(user)


def create_token(user: User, name: str) -> tuple[dict[str, Any], str]:
    """A new API token; a request made with a token cannot make another (a leaked one must not breed)."""
    if current_token() is not None:
        raise Forbidden("API tokens are made on the account page, not with another token.", reason="token_from_token")
    return services().tokens.create(user.id, name)


def revoke_token(user: User, token_id: str) -> None:
    """Revoke one of the user's tokens: requests with it answer 401 at once, its open websockets close."""
    services().tokens.revoke(user.id, token_id)
    services().hub.disconnect(
        Revocation(user.id, token=tuple(TokenCredential(user.id, token_id))),
        Unauthorized("This API token was revoked.", retryable=False))
