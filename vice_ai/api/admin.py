"""HTTP API for admins: users, usage statistics, archiving now.

Anyone but an admin gets the same 404 as for a route that is not there, before the body is read.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..accounts import service
from ..housekeeping.stats import collect_stats
from ..services import services
from .accounts import admins_only, password_mode_only
from .declare import declare
from .schemas.accounts import ArchivedOut, CreateUserIn, StatsOut, UsersOut
from .schemas.resources import UserOut
from .schemas.sessions import NoBody

bp = Blueprint("admin_api", __name__, url_prefix="/api")
TAGS = ["admin"]


@bp.get("/users")
@admins_only
@declare(responses={200: UsersOut}, tags=TAGS)
def list_users():
    """Every account (admins only)."""
    return jsonify({"users": [u.public() for u in services().accounts.all()]})


@bp.post("/users")
@admins_only
@password_mode_only
@declare(body=CreateUserIn, responses={201: UserOut}, tags=TAGS)
def create_user(body: CreateUserIn):
    """An admin creates an account (the way in when sign-up is closed)."""
    user = service.create_account(body.username, body.password, body.is_admin)
    return jsonify(user.public()), 201


@bp.get("/stats")
@admins_only
@declare(responses={200: StatsOut}, tags=TAGS)
def stats():
    """Usage statistics (admins only): documents, chats, messages, users, calls per model."""
    return jsonify(collect_stats(services().state, services().accounts, current_app.config["AUTH"]))


@bp.post("/admin/archive")
@admins_only
@declare(body=NoBody, responses={200: ArchivedOut}, tags=TAGS)
def archive_now(body: NoBody):
    """Archive inactive chat sessions now instead of waiting for the background job."""
    archived = services().archiver.run_once()
    return jsonify({"archived": archived, "after_days": current_app.config["ARCHIVE_AFTER_DAYS"]})
