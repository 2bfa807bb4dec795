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
from .schemas.accounts import ArchivedOut, CreateUserIn, ResetPasswordIn, StatsOut, UpdateUserIn, UsersOut
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


@bp.patch("/users/<user_id>")
@admins_only
@declare(body=UpdateUserIn, responses={200: UserOut}, tags=TAGS)
def update_user(user_id: str, body: UpdateUserIn):
    """Make a user an admin or not (admins only); 409 when it is the last admin."""
    return jsonify(service.set_admin(user_id, body.is_admin).public())


@bp.put("/users/<user_id>/password")
@admins_only
@password_mode_only
@declare(body=ResetPasswordIn, responses={200: UserOut}, tags=TAGS)
def reset_password(user_id: str, body: ResetPasswordIn):
    """Set another user's password (admins only): every sign-in of that user ends and their sockets close."""
    user = service.reset_password(service.signed_in_user(), user_id, body.new_password)
    return jsonify(user.public())


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
