"""Sharing a document with another user, read-only or with edit rights; only its owner may."""
from __future__ import annotations

from flask import current_app

from ..accounts.users import User
from ..errors import BadRequest, NotFound
from ..services import services
from .models import Document
from .resources import OWNER, edit_document, load_document


def _target(username: str) -> User:
    if current_app.config["AUTH"] == "local":
        raise BadRequest("Sharing needs accounts (VICE_AI_AUTH=password or header).")
    user = services().accounts.by_username(username)
    if user is None:
        raise NotFound("No user with that name.", field="username")
    return user


def share_document(doc_id: str, username: str, access: str) -> Document:
    """Give a user `access` ("read" or "edit") to the document, or change it."""
    load_document(doc_id, OWNER)  # an unknown user must not tell a stranger the document exists
    user = _target(username)
    with edit_document(doc_id, OWNER) as doc:
        if services().access.owner_id(doc.owner) == user.id:
            raise BadRequest("The owner always has full access.", field="username")
        doc.shared_with = [s for s in doc.shared_with if s["user"] != user.id] + [{"user": user.id, "access": access}]
    return doc


def unshare_document(doc_id: str, username: str) -> Document:
    """Take a user's access away, at once: their open sockets on the document are closed."""
    load_document(doc_id, OWNER)
    user = _target(username)
    with edit_document(doc_id, OWNER) as doc:
        if not any(s["user"] == user.id for s in doc.shared_with):
            raise NotFound("The document is not shared with that user.", field="username")
        doc.shared_with = [s for s in doc.shared_with if s["user"] != user.id]
    services().hub.revalidate(doc.id)
    return doc
