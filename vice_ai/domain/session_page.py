"""A chat as the API shows it, one page at a time: the newest messages of a branch, oldest first.

A page follows parent links: the default page is the newest `limit` messages of
the active branch (or of the branch through `leaf`), and `before=<id>` gives the
`limit` messages before that one on its branch (its nearest ancestors), so pages
stay consistent whatever happens to other branches meanwhile. Each message of a
page carries its siblings' ids; the work done is proportional to the page, not
to the chat (domain/tree.py through `ChatSession.child_ids`), and nothing is deep-copied: the view
holds the session's own message objects (a change replaces them, never edits
them) taken under the session's lock, and `message_view` makes the dicts.
"""
from __future__ import annotations

from typing import Any

from ..chat.render import page_message_view
from ..errors import NotFound
from ..services import services
from .models import ChatSession, Message
from .resources import load_document, load_section, session_level
from .tree import ancestors, effective_leaf, newest_descendant, siblings

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

# What a view shows of the chat besides its messages (all replaced whole by a change, never edited in place).
_FIELDS = ("id", "document_id", "section_id", "title", "context_documents", "references", "config", "variables",
           "suggestions", "streams", "created_at", "updated_at", "format_version", "owner", "archived",
           "archived_at")


def _known(session: ChatSession, message_id: str, field: str) -> Message:
    message = session.get_message(message_id)
    if message is None:
        raise NotFound(f"No message with that {field} in this chat.", field=field)
    return message


def _take(session: ChatSession, limit: int, before: str | None, leaf: str | None) -> dict[str, Any]:
    """Everything the view needs from the session, read while its lock is held."""
    active = effective_leaf(session)
    shown_leaf = newest_descendant(session, _known(session, leaf, "leaf").id) if leaf else active
    if before is not None:
        anchor = _known(session, before, "before")
        start = session.get_message(anchor.parent_id) if anchor.parent_id else None
    else:
        start = session.get_message(shown_leaf) if shown_leaf else None
    page, has_more = ancestors(session, start, limit)
    data = {name: getattr(session, name) for name in _FIELDS}
    data["active_leaf"] = active
    data["shown_leaf"] = shown_leaf
    data["has_more"] = has_more
    data["message_count"] = len(session.messages)
    # Only a page's first message can lack a parent the chat holds (the rest follow parent links),
    # so `siblings` looks for the chat's first messages once at most.
    return {"data": data, "page": page, "siblings": [siblings(session, m) for m in page]}


def session_view(session_id: str, limit: int = DEFAULT_LIMIT, before: str | None = None,
                 leaf: str | None = None) -> dict[str, Any]:
    """A page of a chat with whether it is generating, the section's version and the caller's access."""
    found = services()
    found.engine.recover(session_id)
    with found.state.reading("sessions", session_id):
        session = found.state.get_chat_session(session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        taken = _take(session, limit, before, leaf)
    data = taken["data"]
    doc = load_document(data["document_id"])
    data["section_version"] = load_section(doc, data["section_id"]).version
    data["access"] = session_level(session, doc)
    # Here, or in another process: a reply still streaming after `recover` is one a live process writes
    # (while a reply streams nothing is added after it, so it is the newest message).
    data["generating"] = found.engine.generating(session_id) or bool(
        session.messages and session.messages[-1].status == "streaming")
    messages = []
    for message, (ids, index) in zip(taken["page"], taken["siblings"], strict=True):
        view = page_message_view(message, (data["document_id"], session_id))
        view["sibling_ids"], view["sibling_index"] = ids, index
        messages.append(view)
    data["messages"] = messages
    data["active_path"] = [m["id"] for m in messages]
    return data
