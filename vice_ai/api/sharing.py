"""HTTP API for sharing a document with other users, read-only or with edit rights."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from ..errors import BadRequest, NotFound
from ..domain.models import Document
from ..domain.resources import OWNER, document_level, edit_document, load_document
from ..services import services
from .validation import get_choice, json_body
from ..accounts.access import SHARE_LEVELS
from ..accounts.users import User

bp = Blueprint("sharing", __name__, url_prefix="/api/documents/<doc_id>/shares")


def _name(user_id: str | None) -> str | None:
    user = services().accounts.get(user_id) if user_id else None
    return user.username if user else None


def shares_view(doc: Document) -> dict[str, Any]:
    """Who owns the document, who it is shared with, and what the caller may do."""
    return {
        "owner": _name(services().access.owner_id(doc.owner)),
        "shares": [{"username": _name(s["user"]), "access": s["access"]}
                   for s in doc.shared_with if _name(s["user"])],
        "access": document_level(doc),
    }


def _target(username: str) -> User:
    if current_app.config["AUTH"] == "local":
        raise BadRequest("Sharing needs accounts (VICE_AI_AUTH=password or header).")
    user = services().accounts.by_username(username)
    if user is None:
        raise NotFound("No user with that name.", field="username")
    return user


@bp.get("")
def list_shares(doc_id: str):
    return jsonify(shares_view(load_document(doc_id)))


@bp.put("/<username>")
def share(doc_id: str, username: str):
    """Give a user read or edit access (or change it); only the owner may."""
    body = json_body({"access"})
    level = get_choice(body, "access", SHARE_LEVELS, required=True)
    load_document(doc_id, OWNER)  # an unknown user must not tell a stranger the document exists
    user = _target(username)
    with edit_document(doc_id, OWNER) as doc:
        if services().access.owner_id(doc.owner) == user.id:
            raise BadRequest("The owner always has full access.", field="username")
        doc.shared_with = [s for s in doc.shared_with if s["user"] != user.id] + [{"user": user.id, "access": level}]
    return jsonify(shares_view(doc))


@bp.delete("/<username>")
def unshare(doc_id: str, username: str):
    """Take a user's access away, at once: their open sockets on the document are closed."""
    load_document(doc_id, OWNER)
    user = _target(username)
    with edit_document(doc_id, OWNER) as doc:
        if not any(s["user"] == user.id for s in doc.shared_with):
            raise NotFound("The document is not shared with that user.", field="username")
        doc.shared_with = [s for s in doc.shared_with if s["user"] != user.id]
    services().hub.revalidate(doc.id)
    return jsonify(shares_view(doc))
