"""HTTP API for sharing a document with other users, read-only or with edit rights."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..domain import sharing as service
from ..domain.models import Document
from ..domain.resources import document_level, load_document
from ..services import services
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.documents import ShareIn, SharesOut

bp = Blueprint("sharing", __name__, url_prefix="/api/documents/<doc_id>/shares")

NOT_FOUND = ResponseSpec("application/json", ErrorOut,
                         "No such document (or the user may not see it, or is not its owner), or no such user "
                         "(`field`: username)")
UNSHARE_NOT_FOUND = ResponseSpec("application/json", ErrorOut,
                                 "No such document (or the user may not see it, or is not its owner), or it is not "
                                 "shared with that username (the same whether or not the user exists)")
TOO_MANY_MISSES = ResponseSpec("application/json", ErrorOut,
                               "The caller named too many usernames that do not exist (`retry_after`)")


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


@bp.get("")
@declare(responses={200: SharesOut, 404: NOT_FOUND})
def list_shares(doc_id: str):
    """Who owns the document and who it is shared with."""
    return jsonify(shares_view(load_document(doc_id)))


@bp.put("/<username>")
@declare(body=ShareIn, responses={200: SharesOut, 404: NOT_FOUND, 429: TOO_MANY_MISSES})
def share(doc_id: str, username: str, body: ShareIn):
    """Give a user read or edit access (or change it); only the owner may.

    An unknown username is a 404 (the share did not happen); too many of those from one user and every share
    request of theirs is a 429 for a while.
    """
    return jsonify(shares_view(service.share_document(doc_id, username, body.access)))


@bp.delete("/<username>")
@declare(responses={200: SharesOut, 404: UNSHARE_NOT_FOUND})
def unshare(doc_id: str, username: str):
    """Take a user's access away, at once: their open sockets on the document are closed."""
    return jsonify(shares_view(service.unshare_document(doc_id, username)))
