"""Sharing a document with another user, read-only or with edit rights; only its owner may.

The owner must learn when a share did not happen, so a username that does not
exist is a 404 that says so. That answer would list usernames to anyone who
tries names on a document of their own, so such misses are counted per user
(`RATE_SHARE_MISSES`): over the budget every share request of theirs is a 429
until the window moves on, known names and unknown alike. Taking a share away
answers the same for an unknown username as for one the document is not
shared with.
"""
from __future__ import annotations

from flask import current_app

from ..accounts.users import User
from ..errors import BadRequest, NotFound
from ..services import services
from .models import Document
from .resources import OWNER, current_user, edit_document, load_document


def _sharing_on() -> None:
    if current_app.config["AUTH"] == "local":
        raise BadRequest("Sharing needs accounts (VICE_AI_AUTH=password or header).")


def _target(username: str) -> User:
    """The account to share with; an unknown name is a 404 that counts against the caller's budget of misses."""
    _sharing_on()
    found, caller = services(), current_user()
    caller_id = caller.id if caller is not None else "?"
    found.limits.share_lookup(caller_id)
    user = found.accounts.by_username(username)
    if user is None:
        found.limits.share_missed(caller_id)
        raise NotFound("No user with that name: the document was not shared.", field="username")
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
    _sharing_on()
    user = services().accounts.by_username(username)
    with edit_document(doc_id, OWNER) as doc:
        if user is None or not any(s["user"] == user.id for s in doc.shared_with):
            # The same answer whether or not the username exists.
            raise NotFound("The document is not shared with that user.", field="username")
        doc.shared_with = [s for s in doc.shared_with if s["user"] != user.id]
    services().hub.revalidate(doc.id)
    return doc
