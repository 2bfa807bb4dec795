"""HTTP API for admins: users, usage statistics, archiving now."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..accounts.users import User
from ..errors import BadRequest, NotFound
from ..housekeeping.stats import collect_stats
from ..services import services
from .accounts import password_mode, signed_in_user
from .validation import json_body

bp = Blueprint("admin_api", __name__, url_prefix="/api")


def _admin() -> User:
    """The admin making the request; anyone else gets the same 404 as for a route that is not there."""
    user = signed_in_user()
    if not user.is_admin:
        raise NotFound("The requested URL was not found on the server.")
    return user


@bp.get("/users")
def list_users():
    _admin()
    return jsonify({"users": [u.public() for u in services().accounts.all()]})


@bp.post("/users")
def create_user():
    """An admin creates an account (the way in when sign-up is closed)."""
    _admin()
    password_mode()
    body = json_body({"username", "password", "is_admin"})
    is_admin = body.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise BadRequest("'is_admin' must be true or false.", field="is_admin")
    user = services().accounts.create(body.get("username"), body.get("password"), is_admin=is_admin)
    return jsonify(user.public()), 201


@bp.get("/stats")
def stats():
    _admin()
    return jsonify(collect_stats(services().state, services().accounts, current_app.config["AUTH"]))


@bp.post("/admin/archive")
def archive_now():
    """Archive inactive chat sessions now instead of waiting for the background job."""
    _admin()
    json_body(())
    archived = services().archiver.run_once()
    return jsonify({"archived": archived, "after_days": current_app.config["ARCHIVE_AFTER_DAYS"]})
