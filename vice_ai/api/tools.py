"""HTTP API for what tools leave behind: notification streams and proposed section edits."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import chats
from ..domain.resources import load_session
from .validation import json_body

bp = Blueprint("tools", __name__, url_prefix="/api/sessions/<session_id>")


@bp.get("/streams")
def list_streams(session_id: str):
    return jsonify({"streams": chats.stream_views(session_id)})


@bp.delete("/streams/<stream_id>")
def stop_stream(session_id: str, stream_id: str):
    chats.stop_stream(session_id, stream_id)
    return jsonify({"stopped": stream_id})


@bp.get("/suggestions")
def list_suggestions(session_id: str):
    return jsonify({"suggestions": load_session(session_id).suggestions})


@bp.post("/suggestions/<suggestion_id>/accept")
def accept_suggestion(session_id: str, suggestion_id: str):
    """Write the proposed text into the section as a new version linked to the message."""
    body = json_body({"force"})
    return jsonify(chats.accept_suggestion(session_id, suggestion_id, body.get("force") is True))


@bp.post("/suggestions/<suggestion_id>/reject")
def reject_suggestion(session_id: str, suggestion_id: str):
    json_body(())
    found = chats.decide_suggestion(session_id, suggestion_id, "rejected")
    return jsonify({"rejected": found["id"]})
