"""HTTP API for provenance: which version (edit, revert, chat reply, accepted suggestion) wrote each paragraph."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import provenance
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.blame import BlameOut, BlameQuery, ProducedVersionsOut

bp = Blueprint("blame", __name__, url_prefix="/api")
TAGS = ["provenance"]


@bp.get("/documents/<doc_id>/sections/<section_id>/blame")
@declare(query=BlameQuery, responses={200: BlameOut, 404: ResponseSpec(
    "application/json", ErrorOut, "No such document, section or version, or not one the user may see")}, tags=TAGS)
def section_blame(doc_id: str, section_id: str, query: BlameQuery):
    """Each paragraph of the section's text with the version that last changed it: who, when, and what (an edit,
    a revert, a reply applied from a chat message, an accepted suggestion); changed paragraphs also by sentence."""
    return jsonify(provenance.blame_view(doc_id, section_id, query.version))


@bp.get("/sessions/<session_id>/versions")
@declare(responses={200: ProducedVersionsOut}, tags=TAGS)
def session_versions(session_id: str):
    """The section versions the chat's messages made (applied replies, accepted suggestions), oldest first."""
    return jsonify(provenance.produced_versions(session_id))


@bp.get("/sessions/<session_id>/messages/<message_id>/versions")
@declare(responses={200: ProducedVersionsOut}, tags=TAGS)
def message_versions(session_id: str, message_id: str):
    """The section versions one message made; 404 if the chat has no such message."""
    return jsonify(provenance.produced_versions(session_id, message_id))
