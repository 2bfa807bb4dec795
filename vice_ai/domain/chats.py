"""Chat sessions: starting one on a section, its settings, what a reply needs first, writing a reply in.

Input arrives validated in shape (types, lengths); the rules that need the
stored chat, its document or the app's tools live here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..accounts.identity import current_user
from ..chat.branching import END, Parent
from ..errors import BadRequest, Conflict, NotFound
from ..housekeeping.redaction import redact, redact_json, redact_variables
from ..services import services
from . import presets
from . import variables as bounds
from .branches import chosen_leaf
from .documents import write_reply
from .models import ChatSession, Message, now
from .passages import selection_of
from .resources import EDIT, edit_session, load_document, load_section, load_session
from .session_page import session_view as session_view  # a chat's view, page by page
from .tree import effective_leaf

if TYPE_CHECKING:
    from ..chat.rounds import Round


def check_tools(names: list[str]) -> list[str]:
    """The built-in tools a chat may use ([] turns function calling off); unknown names are a 400."""
    known = sorted(services().tools.tools)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise BadRequest(f"Unknown tool(s): {', '.join(unknown)}. Known: {', '.join(known)}.", field="config.tools")
    return list(dict.fromkeys(names))


def create_session(doc_id: str, section_id: str, title: str | None, config: dict[str, Any],
                   preset_id: str | None = None) -> ChatSession:
    """A new chat on a section (edit access to the document); it belongs to its creator.

    A preset's settings are copied in (with its id): `config` wins over them, and later edits of the preset
    do not reach the chat.
    """
    doc = load_document(doc_id, EDIT)
    load_section(doc, section_id)
    if preset_id is not None:
        config = {**presets.settings_for_chat(doc, preset_id), **config}
    user = current_user()
    if "tools" in config:
        config["tools"] = check_tools(config["tools"])
    config = _redacted_config(config)
    if "model" not in config and user is not None and user.model:
        config["model"] = user.model  # the user's preferred model (PUT /api/me/model)
    # Titles are often the first message: keep secrets out of them as out of messages.
    return services().state.create_chat_session(section_id, doc_id, title=redact(title or "New chat"),
                                                config=config, owner=user.id if user is not None else "local")


def _redacted_config(config: dict[str, Any]) -> dict[str, Any]:
    """Settings fit to store: the system prompt is the user's text, so secrets go as in messages."""
    if isinstance(config.get("system_prompt"), str):
        return {**config, "system_prompt": redact(config["system_prompt"])}
    return config


def _redacted_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Title, variables and context documents fit to store (secrets redacted), still within the variables' bounds."""
    changes = dict(changes)
    if "title" in changes:
        changes["title"] = redact(changes["title"])
    if "context_documents" in changes:
        changes["context_documents"] = redact_json(changes["context_documents"])
    if "variables" in changes:
        changes["variables"] = redact_variables(changes["variables"])
        if bounds.size_of(changes["variables"]) > bounds.MAX_VARIABLES_BYTES:  # a label can be longer than a key
            raise BadRequest(f"The variables, with secrets redacted, would be larger than "
                             f"{bounds.MAX_VARIABLES_BYTES} bytes.", field="variables")
    return changes


def list_sessions(doc_id: str, section_id: str, with_archived: bool) -> list[ChatSession]:
    """A section's chats, newest first; archived ones only when asked."""
    section = load_section(load_document(doc_id), section_id)
    state = services().state
    found = [state.get_chat_session(sid) for sid in section.session_ids]
    return sorted((s for s in found if s is not None and (with_archived or not s.archived)),
                  key=lambda s: s.created_at, reverse=True)


def update_session(session_id: str, changes: dict[str, Any], config: dict[str, Any] | None,
                   active_leaf: str | None = None) -> None:
    """Change a chat's title, settings (merged into the current ones; a null clears one), variables, context,
    archived flag or active branch (`active_leaf`: a message of the chat; see `branches.chosen_leaf`).

    Secrets in the title, the system prompt, the variables and the context documents are redacted before storing.
    """
    changes = _redacted_changes(changes)
    if "archived" in changes:
        changes["archived_at"] = now() if changes["archived"] else None
    if config is not None and config.get("tools") is not None:
        config["tools"] = check_tools(config["tools"])
    if config is not None:
        config = _redacted_config(config)
    switched = None
    with edit_session(session_id) as writer:
        if config is not None:  # a null clears a setting (back to the default)
            merged = {**writer.session.config, **config}
            changes["config"] = {key: value for key, value in merged.items() if value is not None}
        if active_leaf is not None:
            changes["active_leaf"] = chosen_leaf(writer.session, active_leaf)
            if changes["active_leaf"] != effective_leaf(writer.session):
                switched = {"type": "branch_changed", "active_leaf": changes["active_leaf"], "message_id": active_leaf}
        if changes:
            writer.set(**changes)
        document_id = writer.session.document_id
    if switched is not None:  # the chat's other tabs follow (static/js/chat-branch-keep.js)
        services().hub.publish(session_id, document_id, switched)


def before_generation(session_id: str) -> None:
    """What sending or retrying needs first (HTTP and websocket): edit access, the user's budget, an active chat."""
    session = load_session(session_id, EDIT)
    user = current_user()
    if user is not None:
        services().limits.message(user.id)
    if session.archived:
        with services().state.edit_session(session_id) as writer:
            writer.set(archived=False, archived_at=None)  # talking to it again brings it back


def send_message(session_id: str, content: str, parent: Parent = END,
                 references: list[dict[str, Any]] | None = None) -> Round:
    """Store the user's message and start the reply (after what `before_generation` checks); `parent`: the
    message it follows (END: the end of the active branch; an earlier reply or None: edit and resend);
    `references`: the selection it is about (domain/passages.py)."""
    before_generation(session_id)
    return services().engine.send_message(session_id, content, parent=parent, references=references)


def regenerate(session_id: str, message_id: str | None = None) -> Round:
    """A new reply beside `message_id` (default: the active branch's last reply), after `before_generation`."""
    before_generation(session_id)
    return services().engine.regenerate(session_id, message_id=message_id)


def continue_reply(session_id: str) -> Round:
    """Go on with the chat's interrupted last reply (after what `before_generation` checks)."""
    before_generation(session_id)
    return services().engine.continue_reply(session_id)


def stop_generation(session_id: str) -> bool:
    """Stop the chat's running reply (write access to the chat); False if none was running."""
    load_session(session_id, EDIT)
    return services().engine.stop(session_id)


# A section version's summary, by how a reply was applied (also what a review of it says).
REPLY_SUMMARIES = {"replace": "Applied a chat reply", "append": "Appended a chat reply",
                   "passage": "Replaced a passage with a chat reply"}


def apply_reply(session_id: str, message_id: str, mode: str, reviewed: str | None = None,
                version: int | None = None) -> dict[str, Any]:
    """Write an assistant reply into the chat's section (replace, append, or in place of the passage it is
    about) as a version that remembers it.

    `reviewed`: the text the user made of it in a review, saved as it is if the section is still at `version`.
    """
    session = load_session(session_id, EDIT)
    message = applicable_reply(session, message_id)
    passage = reply_passage(message, mode)
    summary = REPLY_SUMMARIES[mode]
    # Appending (and finding the passage) reads the section under its lock, so a concurrent edit is kept.
    return write_reply(session.document_id, session.section_id,
                       message.content if reviewed is None else reviewed, summary,
                       {"kind": "chat", "message_id": message.id, "session_id": session.id, "mode": mode},
                       append=mode == "append", passage=passage, reviewed_version=_reviewed_at(reviewed, version))


def reply_passage(message: Message, mode: str) -> dict[str, Any] | None:
    """The selection a reply applied with mode "passage" replaces (400 for a reply about no passage)."""
    if mode != "passage":
        return None
    passage = selection_of(message.references)
    if passage is None:
        raise BadRequest("That reply is not about a selected passage; apply it with replace or append.",
                         field="mode")
    return passage


def _reviewed_at(reviewed: str | None, version: int | None) -> int | None:
    if reviewed is None:
        return None
    if version is None:
        raise BadRequest("A reviewed 'content' needs the section 'version' it was reviewed against.", field="version")
    return version


def applicable_reply(session: ChatSession, message_id: str) -> Message:
    """A finished, non-empty assistant reply of the chat (404, 409 or 400 if not)."""
    message = session.get_message(message_id)
    if message is None or message.role != "assistant":
        raise NotFound("No assistant reply with that id in this chat.")
    if message.status == "streaming":
        # Half a reply would land in the section; apply it once it is finished or stopped.
        raise Conflict("That reply is still being written.", field="message_id")
    if not message.content.strip():
        raise BadRequest("That reply is empty.", field="message_id")
    return message


def suggestion_of(session: ChatSession, suggestion_id: str) -> dict[str, Any]:
    found = next((s for s in session.suggestions if s["id"] == suggestion_id), None)
    if found is None:
        raise NotFound("No suggestion with that id in this chat.")
    return found


def decide_suggestion(session_id: str, suggestion_id: str, status: str) -> dict[str, Any]:
    """Mark a pending suggestion accepted or rejected (409 if it was decided already); returns it as it was."""
    with edit_session(session_id) as writer:
        found = suggestion_of(writer.session, suggestion_id)
        if found["status"] != "pending":
            raise Conflict(f"This suggestion was already {found['status']}.", status=found["status"])
        writer.set(suggestions=[replace_status(s, status) if s["id"] == suggestion_id else s
                                for s in writer.session.suggestions])
    return found


def replace_status(suggestion: dict[str, Any], status: str) -> dict[str, Any]:
    return {**suggestion, "status": status, "decided_at": now()}


def accept_suggestion(session_id: str, suggestion_id: str, force: bool, reviewed: str | None = None,
                      version: int | None = None) -> dict[str, Any]:
    """Write a proposed text into the section as a new version linked to its message (409 if the section moved on).

    `reviewed`: the text the user made of it in a review, saved as it is if the section is still at `version`.
    """
    session = load_session(session_id, EDIT)
    pending = suggestion_of(session, suggestion_id)
    at = _reviewed_at(reviewed, version)
    return write_reply(
        session.document_id, session.section_id, pending["new_content"] if reviewed is None else reviewed,
        pending["summary"] or "Accepted a proposed edit",
        {"kind": "chat", "message_id": pending["message_id"], "session_id": session.id,
         "suggestion_id": suggestion_id, "mode": "replace"},
        base_version=None if force or at is not None else pending["base_version"],
        then=lambda: decide_suggestion(session_id, suggestion_id, "accepted"), reviewed_version=at,
    )


def suggestion_views(session_id: str) -> list[dict[str, Any]]:
    """A chat's proposed section edits, pending and decided."""
    return list(load_session(session_id).suggestions)


def stream_views(session_id: str) -> list[dict[str, Any]]:
    """A chat's notification streams, each saying whether it runs now, here or (with Redis) in any process."""
    session = load_session(session_id)
    streams = services().streams
    running = set(streams.running(session.id))
    running.update(r["id"] for r in session.streams if r["id"] not in running and r.get("status") == "running"
                   and streams.leases.held_anywhere("stream", r["id"]))
    return [{**r, "running": r["id"] in running} for r in session.streams]


def stop_stream(session_id: str, stream_id: str) -> None:
    session = load_session(session_id, EDIT)
    if not services().streams.stop(session.id, stream_id, "stopped by the user"):
        raise NotFound("No running notification stream with that id in this chat.")
