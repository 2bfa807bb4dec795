"""HTTP API for chat sessions: create per section, configure, chat (blocking), apply a reply."""
from __future__ import annotations

import json
import time
from typing import Any, Iterable

from flask import Blueprint, current_app, jsonify, request

from .auth.redaction import redact
from .errors import ApiError, BadRequest, Conflict, NotFound
from .models import now
from .render import message_view
from .services import (EDIT, app_state, current_user, edit_document, edit_session, engine, load_document,
                       load_section, load_session, session_level)
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
        config["tools"] = _tool_names(raw["tools"])
    return config


def _tool_names(raw: Any) -> list[str]:
    """The built-in tools a session may use ([] turns function calling off)."""
    known = sorted(engine().tools.tools)
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise BadRequest("'tools' must be a list of tool names.", field="tools")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise BadRequest(f"Unknown tool(s): {', '.join(unknown)}. Known: {', '.join(known)}.", field="tools")
    return list(dict.fromkeys(raw))


def session_view(session_id: str) -> dict[str, Any]:
    """A session as the API shows it: messages, whether it is generating, the section's version."""
    engine().recover(session_id)
    data = app_state().session_dict(session_id)
    if data is None:
        raise NotFound("Chat session not found.")
    doc = load_document(data["document_id"])
    data["section_version"] = load_section(doc, data["section_id"]).version
    session = app_state().get_chat_session(session_id)
    # What the caller may do with this chat ("edit" or "read"), so the page offers only that.
    data["access"] = session_level(session, doc) if session is not None else None
    data["generating"] = engine().running(session_id) is not None
    data["messages"] = [message_view(m) for m in data["messages"]]
    return data


@bp.post("/documents/<doc_id>/sections/<section_id>/sessions")
def create_session(doc_id: str, section_id: str):
    """A new chat on a section (needs edit access to the document); it belongs to its creator."""
    body = json_body({"title", "model", "system_prompt", "temperature"})
    load_section(load_document(doc_id, EDIT), section_id)
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], allow_empty=False)
    config = _config({k: v for k, v in body.items() if k in CONFIG_KEYS})
    user = current_user()
    if "model" not in config and user is not None and user.model:
        config["model"] = user.model  # the user's preferred model (PUT /api/me/model)
    # Titles are often the first message: keep secrets out of them as out of messages.
    session = app_state().create_chat_session(section_id, doc_id, title=redact(title or "New chat"), config=config,
                                              owner=user.id if user is not None else "local")
    return jsonify(session_view(session.id)), 201


@bp.get("/documents/<doc_id>/sections/<section_id>/sessions")
def list_sessions(doc_id: str, section_id: str):
    """The section's chats, newest first; archived ones only with ?archived=1."""
    section = load_section(load_document(doc_id), section_id)
    with_archived = request.args.get("archived", "0") in ("1", "true", "yes")
    found = [app_state().get_chat_session(sid) for sid in section.session_ids]
    sessions = sorted((s for s in found if s is not None and (with_archived or not s.archived)),
                      key=lambda s: s.created_at, reverse=True)
    return jsonify({"sessions": [s.summary() for s in sessions]})


@bp.get("/sessions/<session_id>")
def get_session(session_id: str):
    load_session(session_id)
    return jsonify(session_view(session_id))


@bp.patch("/sessions/<session_id>")
def update_session(session_id: str):
    body = json_body({"title", "config", "variables", "context_documents", "archived"})
    changes: dict[str, Any] = {}
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], allow_empty=False)
    if title is not None:
        changes["title"] = redact(title)
    archived = body.get("archived")
    if archived is not None:
        if not isinstance(archived, bool):
            raise BadRequest("'archived' must be true or false.", field="archived")
        changes.update(archived=archived, archived_at=now() if archived else None)
    config = get_object(body, "config")
    variables = get_object(body, "variables")
    if variables is not None:
        if len(json.dumps(variables)) > MAX_VARIABLES_BYTES:
            raise BadRequest("'variables' is too large.", field="variables")
        changes["variables"] = variables
    context_documents = body.get("context_documents")
    if context_documents is not None:
        changes["context_documents"] = _context_documents(context_documents)
    with edit_session(session_id) as writer:
        if config is not None:
            changes["config"] = {**writer.session.config, **_config(config)}
        if changes:
            writer.set(**changes)
    return jsonify(session_view(session_id))


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


def halt_sessions(session_ids: Iterable[str], timeout: float = 10.0) -> None:
    """Stop the generations and notification streams of sessions about to be deleted, and wait for them."""
    ids = list(session_ids)
    streams = current_app.extensions["vice_streams"]
    for session_id in ids:
        engine().stop(session_id)
    for session_id in ids:
        streams.stop_session(session_id)
    # Wait, so no worker writes to (or spends model tokens on) a chat that is gone.
    deadline = time.monotonic() + timeout
    for session_id in ids:
        round_ = engine().running(session_id)
        if round_ is not None:
            round_.wait(max(0.0, deadline - time.monotonic()))


def release_sessions(session_ids: Iterable[str]) -> None:
    """Tell the tabs of deleted sessions and free their event buffers."""
    for session_id in session_ids:
        current_app.extensions["vice_hub"].drop_session(session_id)


@bp.delete("/sessions/<session_id>")
def delete_session(session_id: str):
    load_session(session_id, EDIT)
    halt_sessions([session_id])
    app_state().delete_chat_session(session_id)
    release_sessions([session_id])
    return jsonify({"deleted": session_id})


def _round_response(round_):
    """Wait for a round and answer with both messages (an error keeps the user message too)."""
    round_.wait(current_app.config["REQUEST_TIMEOUT"] * 2 + 30)
    body = {
        "user_message": message_view(round_.user_message),
        "assistant_message": message_view(round_.assistant_message) if round_.assistant_message else None,
    }
    if round_.error is not None:
        err: ApiError = round_.error
        payload = err.to_dict()
        payload["error"].update(body)
        return jsonify(payload), err.status
    return jsonify(body), 201


def before_generation(session_id: str) -> None:
    """What sending or retrying needs first (HTTP and websocket): edit access, the user's budget, an active chat."""
    session = load_session(session_id, EDIT)
    user = current_user()
    if user is not None:
        current_app.extensions["vice_limits"].message(user.id)
    if session.archived:
        with app_state().edit_session(session_id) as writer:
            writer.set(archived=False, archived_at=None)  # talking to it again brings it back


@bp.post("/sessions/<session_id>/messages")
def send_message(session_id: str):
    body = json_body({"content"})
    if "content" not in body:
        raise BadRequest("'content' is required.", field="content")
    before_generation(session_id)
    return _round_response(engine().send_message(session_id, body["content"]))


@bp.post("/sessions/<session_id>/regenerate")
def regenerate(session_id: str):
    json_body(())
    before_generation(session_id)
    return _round_response(engine().regenerate(session_id))


@bp.post("/sessions/<session_id>/stop")
def stop(session_id: str):
    load_session(session_id, EDIT)
    return jsonify({"stopped": engine().stop(session_id)})


@bp.post("/sessions/<session_id>/apply")
def apply_reply(session_id: str):
    """Write an assistant reply into the section as a new version that remembers the message."""
    body = json_body({"message_id", "mode"})
    message_id = get_text(body, "message_id", max_len=100, required=True)
    mode = get_choice(body, "mode", ("replace", "append"), required=True)
    session = load_session(session_id, EDIT)
    message = session.get_message(message_id)
    if message is None or message.role != "assistant":
        raise NotFound("No assistant reply with that id in this chat.")
    if message.status == "streaming":
        # Half a reply would land in the section; apply it once it is finished or stopped.
        raise Conflict("That reply is still being written.", field="message_id")
    if not message.content.strip():
        raise BadRequest("That reply is empty.", field="message_id")
    limit = current_app.config["MAX_SECTION_CHARS"]
    with edit_document(session.document_id) as doc:
        section = load_section(doc, session.section_id)
        previous = {"content": section.content, "version": section.version}
        if mode == "replace":
            new_content = message.content
        else:
            new_content = f"{section.content.rstrip()}\n\n{message.content}" if section.content.strip() else message.content
        if len(new_content) > limit:
            raise BadRequest(f"The section would be longer than {limit} characters.")
        section.content = new_content
        section.version += 1
        section.status = "generated"
        section.updated_at = now()
        section.record_version(
            "Applied a chat reply" if mode == "replace" else "Appended a chat reply",
            {"kind": "chat", "message_id": message.id, "session_id": session.id, "mode": mode},
        )
    return jsonify({
        "section": section.public(),
        "previous_content": previous["content"],
        "previous_version": previous["version"],
    })
