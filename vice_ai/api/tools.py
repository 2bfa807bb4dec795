"""HTTP API for what tools leave behind: notification streams and proposed section edits."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import chats
from .declare import declare
from .schemas.resources import AppliedOut
from .schemas.sessions import AcceptSuggestionIn, NoBody, RejectedOut, StreamsOut, StreamStoppedOut, SuggestionsOut

bp = Blueprint("tools", __name__, url_prefix="/api/sessions/<session_id>")
TAGS = ["tools"]


@bp.get("/streams")
@declare(responses={200: StreamsOut}, tags=TAGS)
def list_streams(session_id: str):
    """The chat's notification streams, each saying whether it runs now."""
    return jsonify({"streams": chats.stream_views(session_id)})


@bp.delete("/streams/<stream_id>")
@declare(responses={200: StreamStoppedOut}, tags=TAGS)
def stop_stream(session_id: str, stream_id: str):
    """Stop a running notification stream; 404 if it is not running."""
    chats.stop_stream(session_id, stream_id)
    return jsonify({"stopped": stream_id})


@bp.get("/suggestions")
@declare(responses={200: SuggestionsOut}, tags=TAGS)
def list_suggestions(session_id: str):
    """The section edits the model proposed in this chat, pending and decided."""
    return jsonify({"suggestions": chats.suggestion_views(session_id)})


@bp.post("/suggestions/<suggestion_id>/accept")
@declare(body=AcceptSuggestionIn, responses={200: AppliedOut}, tags=TAGS)
def accept_suggestion(session_id: str, suggestion_id: str, body: AcceptSuggestionIn):
    """Write the proposed text into the section as a new version linked to the message.

    409 if the section changed since the proposal (unless `force`) or the suggestion was already decided.
    With `content` and `version`: the text a review made of it, saved as it is (409 if the section moved on).
    """
    return jsonify(chats.accept_suggestion(session_id, suggestion_id, body.force, body.content, body.version))


@bp.post("/suggestions/<suggestion_id>/reject")
@declare(body=NoBody, responses={200: RejectedOut}, tags=TAGS)
def reject_suggestion(session_id: str, suggestion_id: str, body: NoBody):
    """Reject a pending suggestion; 409 if it was already decided."""
    found = chats.decide_suggestion(session_id, suggestion_id, "rejected")
    return jsonify({"rejected": found["id"]})
