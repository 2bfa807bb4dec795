"""The built-in tools every session has unless its config turns them off."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..domain import variables
from ..domain.models import new_id, now
from ..housekeeping.redaction import redact, redact_json
from . import Tool, ToolContext, ToolError, ToolRegistry, schema

if TYPE_CHECKING:
    from ..streams.service import NotificationStreams

SNIPPET = 160


def _document(ctx: ToolContext):
    doc = ctx.state.get_document(ctx.document_id)
    if doc is None:
        raise ToolError("The document no longer exists.")
    return doc


def read_section(ctx: ToolContext, section_id: str | None = None) -> dict[str, Any]:
    """The current (or named) section of this chat's document."""
    doc = _document(ctx)
    section = doc.section(section_id or ctx.section_id)
    if section is None:
        raise ToolError(f"No section {section_id!r} in this document. Use list_sections.")
    return {"id": section.id, "title": section.title, "type": section.type, "level": section.level,
            "version": section.version, "status": section.status, "content": section.content}


def list_sections(ctx: ToolContext) -> list[dict[str, Any]]:
    """The outline of this chat's document."""
    return [
        {"id": s.id, "title": s.title, "type": s.type, "level": s.level, "version": s.version,
         "status": s.status, "words": len(s.content.split()), "current": s.id == ctx.section_id}
        for s in _document(ctx).sections
    ]


def search_document(ctx: ToolContext, query: str) -> list[dict[str, Any]]:
    """Sections whose title or text contains the query (case-insensitive), with a snippet."""
    pattern = re.compile(re.escape(query.strip()), re.IGNORECASE)
    hits = []
    for s in _document(ctx).sections:
        match = pattern.search(s.content) or pattern.search(s.title)
        if match is None:
            continue
        text = s.content if pattern.search(s.content) else s.title
        start = max(0, match.start() - SNIPPET // 2)
        hits.append({"section_id": s.id, "title": s.title, "snippet": text[start:start + SNIPPET]})
    return hits


def propose_section_edit(ctx: ToolContext, new_content: str, summary: str) -> dict[str, Any]:
    """Record a suggested new text for the current section; the user accepts or rejects it.

    Stored redacted, except secrets the section already holds: the text is meant for the user's document
    (which is not redacted), so accepting it must not garble what the user wrote, and nothing else gets in.
    """
    doc = _document(ctx)
    section = doc.section(ctx.section_id)
    if section is None:
        raise ToolError("The section of this chat no longer exists.")
    suggestion = {
        "id": new_id(), "section_id": section.id, "message_id": ctx.message_id,
        "new_content": redact(new_content, keep=section.content), "summary": redact(summary),
        "base_version": section.version, "status": "pending", "created_at": now(),
    }
    with ctx.state.edit_session(ctx.session_id) as writer:
        writer.set(suggestions=[*writer.session.suggestions, suggestion])
    return {"suggestion_id": suggestion["id"], "status": "pending",
            "note": "The user sees the proposal and decides; the section is unchanged until they accept."}


def set_session_variable(ctx: ToolContext, name: str, value: Any) -> dict[str, Any]:
    """Store a per-session variable that later turns and tools can read (bounded as over the API, stored redacted)."""
    if not variables.valid_name(name):
        raise ToolError("Variable names are letters, digits and _, starting with a letter or _.")
    problem = variables.value_problem(value)
    if problem:
        raise ToolError(f"The value {problem}.")
    value = redact_json(value)  # every string in it, at any depth, as in the call's stored arguments
    with ctx.state.edit_session(ctx.session_id) as writer:
        updated = {**writer.session.variables, name: value}
        if len(updated) > variables.MAX_VARIABLES:
            raise ToolError(f"A chat holds at most {variables.MAX_VARIABLES} variables.")
        if variables.size_of(updated) > variables.MAX_VARIABLES_BYTES:
            raise ToolError(f"The variables would be larger than {variables.MAX_VARIABLES_BYTES} bytes.")
        writer.set(variables=updated)
    return {"ok": True, "name": name}


def _streams(ctx: ToolContext) -> NotificationStreams:
    if ctx.streams is None:
        raise ToolError("Notification streams are not available here.")
    return ctx.streams


def start_notification_stream(ctx: ToolContext, goal: str, interval_seconds: float) -> dict[str, Any]:
    """Start a background worker that checks `goal` every interval and notifies the user."""
    stream = _streams(ctx).start(ctx, redact(goal), interval_seconds)  # the goal is stored with the stream
    return {"stream_id": stream["id"], "interval_seconds": stream["interval_seconds"],
            "expires_at": stream["expires_at"]}


def stop_notification_stream(ctx: ToolContext, stream_id: str) -> dict[str, Any]:
    """Stop one of this session's notification streams."""
    if not _streams(ctx).stop(ctx.session_id, stream_id, "stopped by the assistant"):
        raise ToolError(f"No running stream {stream_id!r} in this session.")
    return {"stopped": stream_id}


def send_notification(ctx: ToolContext, message: str) -> dict[str, Any]:
    """Inside a notification stream: push a short message to the user's open tabs."""
    if ctx.stream_id is None:
        raise ToolError("send_notification works only inside a notification stream.")
    _streams(ctx).notify(ctx, message)
    return {"sent": True}


READ_ONLY = ("read_section", "list_sections", "search_document")
STREAM_TOOLS = ("send_notification", "stop_notification_stream")

_text = {"type": "string", "minLength": 1, "maxLength": 200_000}


def builtin_registry() -> ToolRegistry:
    return ToolRegistry([
        Tool("read_section", "Read a section of this document (the current one when no id is given).",
             schema({"section_id": {"type": "string", "maxLength": 64}}), read_section),
        Tool("list_sections", "List the sections of this document in order, with ids and versions.",
             schema({}), list_sections),
        Tool("search_document", "Find the sections of this document that mention a phrase.",
             schema({"query": {"type": "string", "minLength": 1, "maxLength": 500}}, ("query",)),
             search_document),
        Tool("propose_section_edit",
             "Propose a complete new text for the current section. The user reviews it and accepts or rejects it.",
             schema({"new_content": _text, "summary": {"type": "string", "maxLength": 500}},
                    ("new_content", "summary")), propose_section_edit),
        Tool("set_session_variable", "Remember a named value for this chat (visible to later turns).",
             schema({"name": {"type": "string", "maxLength": 64}, "value": {}}, ("name", "value")),
             set_session_variable),
        Tool("start_notification_stream",
             "Keep checking a goal in the background every interval_seconds and notify the user when "
             "something worth telling happens (e.g. 'tell me when section 3 mentions a budget figure').",
             schema({"goal": {"type": "string", "minLength": 1, "maxLength": 2000},
                     "interval_seconds": {"type": "number", "exclusiveMinimum": 0}}, ("goal", "interval_seconds")),
             start_notification_stream),
        Tool("stop_notification_stream", "Stop a notification stream of this chat.",
             schema({"stream_id": {"type": "string", "maxLength": 64}}, ("stream_id",)), stop_notification_stream),
        Tool("send_notification", "Send a short notification to the user (only inside a notification stream).",
             schema({"message": {"type": "string", "minLength": 1, "maxLength": 2000}}, ("message",)),
             send_notification),
    ])


TOOL_NAMES = tuple(builtin_registry().tools)
