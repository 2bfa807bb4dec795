"""HTTP API for what tools leave behind: notification streams and proposed section edits."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..errors import Conflict, NotFound
from ..models import now
from ..services import EDIT, edit_document, edit_session, load_section, load_session
from ..validation import json_body

bp = Blueprint("tools", __name__, url_prefix="/api/sessions/<session_id>")


def _streams():
    return current_app.extensions["vice_streams"]


@bp.get("/streams")
def list_streams(session_id: str):
    session = load_session(session_id)
    running = set(_streams().running(session.id))
    return jsonify({"streams": [{**r, "running": r["id"] in running} for r in session.streams]})


@bp.delete("/streams/<stream_id>")
def stop_stream(session_id: str, stream_id: str):
    session = load_session(session_id, EDIT)
    if not _streams().stop(session.id, stream_id, "stopped by the user"):
        raise NotFound("No running notification stream with that id in this chat.")
    return jsonify({"stopped": stream_id})


@bp.get("/suggestions")
def list_suggestions(session_id: str):
    return jsonify({"suggestions": load_session(session_id).suggestions})


def _decide(session_id: str, suggestion_id: str, status: str) -> dict:
    """Mark a pending suggestion accepted or rejected; returns it as it was."""
    with edit_session(session_id) as writer:
        found = next((s for s in writer.session.suggestions if s["id"] == suggestion_id), None)
        if found is None:
            raise NotFound("No suggestion with that id in this chat.")
        if found["status"] != "pending":
            raise Conflict(f"This suggestion was already {found['status']}.", status=found["status"])
        updated = [{**s, "status": status, "decided_at": now()} if s["id"] == suggestion_id else s
                   for s in writer.session.suggestions]
        writer.set(suggestions=updated)
    return found


@bp.post("/suggestions/<suggestion_id>/accept")
def accept_suggestion(session_id: str, suggestion_id: str):
    """Write the proposed text into the section as a new version linked to the message."""
    body = json_body({"force"})
    session = load_session(session_id, EDIT)
    pending = next((s for s in session.suggestions if s["id"] == suggestion_id), None)
    if pending is None:
        raise NotFound("No suggestion with that id in this chat.")
    with edit_document(session.document_id) as doc:
        section = load_section(doc, session.section_id)
        if section.version != pending["base_version"] and body.get("force") is not True:
            raise Conflict(
                f"The section changed since this was proposed (version {pending['base_version']} "
                f"-> {section.version}). Accept with force to replace it anyway.",
                current_version=section.version)
        _decide(session_id, suggestion_id, "accepted")
        previous = {"content": section.content, "version": section.version}
        section.content = pending["new_content"]
        section.version += 1
        section.status = "generated"
        section.updated_at = now()
        section.record_version(pending["summary"] or "Accepted a proposed edit", {
            "kind": "chat", "message_id": pending["message_id"], "session_id": session.id,
            "suggestion_id": suggestion_id, "mode": "replace"})
    return jsonify({"section": section.public(), "previous_content": previous["content"],
                    "previous_version": previous["version"]})


@bp.post("/suggestions/<suggestion_id>/reject")
def reject_suggestion(session_id: str, suggestion_id: str):
    json_body(())
    found = _decide(session_id, suggestion_id, "rejected")
    return jsonify({"rejected": found["id"]})
