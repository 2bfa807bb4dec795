"""The account page (one's password and API tokens) and the admin page (users); their JS posts to the API.

The account page is there in password and header modes; the admin page for admins only: anyone else
gets the same "not found" page as for a page that does not exist.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..accounts.identity import current_user
from .declare import ResponseSpec, declare
from .pages import PAGE_ANSWERS

bp = Blueprint("account_pages", __name__)

HIDDEN = ResponseSpec("text/html", None, "A page: not there for this user (or in local mode)")


def _not_found():
    return render_template("not_found.html", message="Not found: there is no such page."), 404


@bp.get("/account")
@declare(responses={**PAGE_ANSWERS, 404: HIDDEN}, tags=["pages"])
def account():
    """The user's account: change the password (password mode) and API tokens for scripts."""
    mode = current_app.config["AUTH"]
    if mode == "local":
        return _not_found()
    return render_template("account.html", password_mode=mode == "password")


@bp.get("/admin")
@declare(responses={**PAGE_ANSWERS, 404: HIDDEN}, tags=["pages"])
def admin():
    """Users (admins only): create accounts, reset a password, make or remove admins."""
    user = current_user()
    if current_app.config["AUTH"] == "local" or user is None or not user.is_admin:
        return _not_found()
    return render_template("admin.html", password_mode=current_app.config["AUTH"] == "password")
