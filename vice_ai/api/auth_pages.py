"""The sign-in and sign-up (first-run) pages; the forms post to /api/auth/* from static/js/auth.js."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, url_for

from ..accounts.identity import current_user
from ..services import services
from .declare import ResponseSpec, declare
from .schemas.documents import SignInQuery

bp = Blueprint("auth_pages", __name__)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host.

    Browsers drop tabs and line breaks from a URL and read a backslash as a
    slash, so "/%09/evil.example" would lead off the site: those are removed
    first, then anything that is not a plain local path (or has other control
    characters, which cannot go in a Location header) means the home page.
    """
    cleaned = re.sub(r"[\t\r\n]", "", value or "")
    if (not cleaned.startswith("/") or cleaned.startswith("//") or "\\" in cleaned
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in cleaned)):
        return "/"
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return "/"
    return cleaned


@bp.get("/signin")
@declare(query=SignInQuery, tags=["pages"], responses={
    200: "text/html",
    302: ResponseSpec(None, None, "No sign-in needed (signed in already, or another sign-in mode): to `next` "
                                  "(a local path, else /); no account exists yet: to /signup"),
})
def signin(query: SignInQuery):
    """The sign-in page (password mode)."""
    target = safe_next(query.next)
    if current_app.config["AUTH"] != "password" or current_user() is not None:
        return redirect(target)
    if services().accounts.count() == 0:
        return redirect(url_for("auth_pages.signup"))
    return render_template("auth_signin.html", next_url=target, signup_open=current_app.config["SIGNUP"] == "open")


@bp.get("/signup")
@declare(tags=["pages"], responses={
    200: "text/html",
    302: ResponseSpec(None, None, "Nothing to sign up for (signed in, or another sign-in mode): to /"),
})
def signup():
    """The sign-up page: the first account (an admin), later ones when sign-up is open."""
    first_run = services().accounts.count() == 0
    if current_app.config["AUTH"] != "password" or (current_user() is not None and not first_run):
        return redirect(url_for("web.index"))
    is_open = first_run or current_app.config["SIGNUP"] == "open"
    return render_template("auth_signup.html", first_run=first_run, signup_open=is_open)
