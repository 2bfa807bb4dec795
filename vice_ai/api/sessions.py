"""HTTP API for chat sessions: start one on a section, read, configure, delete, chat (blocking), apply a reply."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..chat.engine import Round
from ..chat.render import message_view
from ..domain import chats, deletion
from ..domain.resources import EDIT, load_session
from ..errors import BadRequest
from ..services import services
from .errors import error_response
from .validation import get_choice, get_object, get_text, json_body

bp = Blueprint("sessions", __name__, url_prefix="/api")

CONFIG_KEYS = {"model", "temperature", "system_prompt", "tools"}
MAX_VARIABLES_BYTES = 64 * 1024


def _config(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a session config: model name, temperature in [0, 2], instructions, tools."""
    unknown = sorted(set(raw) - CONFIG_KEYS)
    if unknown:
        raise BadRequest(f"Unknown config key(s): {', '.join(unknown)}.", field="config")
    config: dict[str, Any] = {}
    if raw.get("model") is not None:
        config["model"] = get_text(raw, "model", max_len=200, allow_empty=False)
    temperature = raw.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            raise BadRequest("'temperature' must be a number between 0 and 2.", field="temperature")
        config["temperature"] = temperature
    if raw.get("system_prompt") is not None:
        config["system_prompt"] = get_text(raw, "system_prompt", max_len=20_000)
    if raw.get("tools") is not None:
        if not isinstance(raw["tools"], list) or not all(isinstance(n, str) for n in raw["tools"]):
            raise BadRequest("'tools' must be a list of tool names.", field="tools")
        config["tools"] = raw["tools"]
    return config


@bp.post("/documents/<doc_id>/sections/<section_id>/sessions")
def create_session(doc_id: str, section_id: str):
    body = json_body({"title", "model", "system_prompt", "temperature"})
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], allow_empty=False)
    config = _config({k: v for k, v in body.items() if k in CONFIG_KEYS})
    session = chats.create_session(doc_id, section_id, title, config)
    return jsonify(chats.session_view(session.id)), 201


@bp.get("/documents/<doc_id>/sections/<section_id>/sessions")
def list_sessions(doc_id: str, section_id: str):
    """The section's chats, newest first; archived ones only with ?archived=1."""
    with_archived = request.args.get("archived", "0") in ("1", "true", "yes")
    return jsonify({"sessions": [s.summary() for s in chats.list_sessions(doc_id, section_id, with_archived)]})


@bp.get("/sessions/<session_id>")
def get_session(session_id: str):
    load_session(session_id)
    return jsonify(chats.session_view(session_id))


def _context_documents(raw: Any) -> list[dict[str, str]]:
    limit = current_app.config["MAX_SECTION_CHARS"]
    if not isinstance(raw, list) or len(raw) > 20:
        raise BadRequest("'context_documents' must be a list of at most 20 items.", field="context_documents")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"name", "content"}:
            raise BadRequest("Each context document is {name, content}.", field="context_documents")
        out.append({
            "name": get_text(item, "name", max_len=200, required=True, allow_empty=False),
            "content": get_text(item, "content", max_len=limit, required=True),
        })
    return out


@bp.patch("/sessions/<session_id>")
def update_session(session_id: str):
    import json

    body = json_body({"title", "config", "variables", "context_documents", "archived"})
    changes: dict[str, Any] = {}
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], allow_empty=False)
    if title is not None:
        changes["title"] = title
    archived = body.get("archived")
    if archived is not None:
        if not isinstance(archived, bool):
            raise BadRequest("'archived' must be true or false.", field="archived")
        changes["archived"] = archived
    raw_config = get_object(body, "config")
    variables = get_object(body, "variables")
    if variables is not None:
        if len(json.dumps(variables)) > MAX_VARIABLES_BYTES:
            raise BadRequest("'variables' is too large.", field="variables")
        changes["variables"] = variables
    if body.get("context_documents") is not None:
        changes["context_documents"] = _context_documents(body["context_documents"])
    chats.update_session(session_id, changes, _config(raw_config) if raw_config is not None else None)
    return jsonify(chats.session_view(session_id))


@bp.delete("/sessions/<session_id>")
def delete_session(session_id: str):
    return jsonify({"deleted": deletion.delete_session(session_id)})


def _round_response(round_: Round):
    """Wait for a round and answer with both messages (an error keeps the user message too)."""
    round_.wait(current_app.config["REQUEST_TIMEOUT"] * 2 + 30)
    body = {
        "user_message": message_view(round_.user_message),
        "assistant_message": message_view(round_.assistant_message) if round_.assistant_message else None,
    }
    if round_.error is not None:
        return error_response(round_.error, extra=body)
    return jsonify(body), 201


@bp.post("/sessions/<session_id>/messages")
def send_message(session_id: str):
    body = json_body({"content"})
    if "content" not in body:
        raise BadRequest("'content' is required.", field="content")
    chats.before_generation(session_id)
    return _round_response(services().engine.send_message(session_id, body["content"]))


@bp.post("/sessions/<session_id>/regenerate")
def regenerate(session_id: str):
    json_body(())
    chats.before_generation(session_id)
    return _round_response(services().engine.regenerate(session_id))


@bp.post("/sessions/<session_id>/stop")
def stop(session_id: str):
    load_session(session_id, EDIT)
    return jsonify({"stopped": services().engine.stop(session_id)})


@bp.post("/sessions/<session_id>/apply")
def apply_reply(session_id: str):
    """Write an assistant reply into the section as a new version that remembers the message."""
    body = json_body({"message_id", "mode"})
    message_id = get_text(body, "message_id", max_len=100, required=True)
    mode = get_choice(body, "mode", ("replace", "append"), required=True)
    return jsonify(chats.apply_reply(session_id, message_id, mode))
