"""The sign-in and sign-up (first-run) pages; the forms post to /api/auth/* from static/js/auth.js."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..accounts.identity import current_user
from ..services import services

bp = Blueprint("auth_pages", __name__)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //host or a full URL)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


@bp.get("/signin")
def signin():
    target = safe_next(request.args.get("next"))
    if current_app.config["AUTH"] != "password" or current_user() is not None:
        return redirect(target)
    if services().accounts.count() == 0:
        return redirect(url_for("auth_pages.signup"))
    return render_template("auth_signin.html", next_url=target, signup_open=current_app.config["SIGNUP"] == "open")


@bp.get("/signup")
def signup():
    first_run = services().accounts.count() == 0
    if current_app.config["AUTH"] != "password" or (current_user() is not None and not first_run):
        return redirect(url_for("web.index"))
    is_open = first_run or current_app.config["SIGNUP"] == "open"
    return render_template("auth_signup.html", first_run=first_run, signup_open=is_open)
