"""HTTP API for reviewing changes before they are saved: word diffs of texts, of versions, of a reply or proposal.

Saving a review goes through the change's own route (`apply`, `accept`, `revert`)
with `content` (the reviewed text) and `version` (the section version reviewed).
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..accounts.identity import current_user
from ..domain import review
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.review import DiffIn, DiffOut, ReviewIn, ReviewOut, VersionDiffOut, VersionDiffQuery

bp = Blueprint("review", __name__, url_prefix="/api")
TAGS = ["review"]
NOT_FOUND = ResponseSpec("application/json", ErrorOut, "No such chat, reply, suggestion, section or version, "
                                                      "or not one the user may see (or change)")


@bp.post("/diff")
@declare(body=DiffIn, responses={200: DiffOut}, tags=TAGS)
def diff(body: DiffIn):
    """The word-level diff of two texts (a passage and its rewrite, say), as ops to accept or reject one by one."""
    current_user()
    return jsonify(review.diff_view(body.old, body.new))


@bp.post("/sessions/<session_id>/review")
@declare(body=ReviewIn, responses={200: ReviewOut, 404: NOT_FOUND}, tags=TAGS)
def review_change(session_id: str, body: ReviewIn):
    """What applying a reply (`message_id`, `mode`) or accepting a proposed edit (`suggestion_id`) would change.

    Writes nothing. Save the reviewed text with `apply` or `accept` and `{content, version}`.
    """
    return jsonify(review.review_reply(session_id, body.message_id, body.mode, body.suggestion_id))


@bp.get("/documents/<doc_id>/sections/<section_id>/versions/<int:version>/diff")
@declare(query=VersionDiffQuery, responses={200: VersionDiffOut, 404: NOT_FOUND}, tags=TAGS)
def version_diff(doc_id: str, section_id: str, version: int, query: VersionDiffQuery):
    """The words that changed from the version before (or `?against=`) to `version`."""
    return jsonify(review.version_diff(doc_id, section_id, version, query.against))
