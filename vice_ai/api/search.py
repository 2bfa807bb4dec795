"""HTTP API for search: documents, sections, chats and messages the user may read."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..accounts.identity import current_user
from ..services import services
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.search import SearchOut, SearchQuery

bp = Blueprint("search", __name__, url_prefix="/api")


@bp.get("/search")
@declare(query=SearchQuery, responses={200: SearchOut, 404: ResponseSpec(
    "application/json", ErrorOut, "`document_id` names no document the user may see")}, tags=["search"])
def search(query: SearchQuery):
    """Find documents, sections (title and text), chats (title) and messages the user may read, best first.

    Each result has the ids to open it and a plain-text `snippet` with the `matches` in it. Archived chats are
    found too (`archived: true`)."""
    results = services().search.search(current_user(), query.q, query.document_id, query.limit)
    return jsonify({"results": results})
