"""A chat as the API shows it, one page at a time: the newest messages of a branch, oldest first.

A page follows parent links: the default page is the newest `limit` messages of
the active branch (or of the branch through `leaf`), and `before=<id>` gives the
`limit` messages before that one on its branch (its nearest ancestors), so pages
stay consistent whatever happens to other branches meanwhile. Each message of a
page carries its siblings' ids; the work done is proportional to the page, not
to the chat (see `ChatSession.child_ids`), and nothing is deep-copied: the view
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

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

# What a view shows of the chat besides its messages (all replaced whole by a change, never edited in place).
_FIELDS = ("id", "document_id", "section_id", "title", "context_documents", "references", "config", "variables",
           "suggestions", "streams", "created_at", "updated_at", "format_version", "owner", "archived",
           "archived_at")


def newest_descendant(session: ChatSession, message_id: str) -> str:
    """The message written last among `message_id` and everything below it: always a leaf."""
    best, best_at = message_id, session.position(message_id)
    stack, seen = [message_id], {message_id}
    while stack:
        for child in session.child_ids(stack.pop()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
                at = session.position(child)
                if at > best_at:
                    best, best_at = child, at
    return best


def active_leaf(session: ChatSession) -> str | None:
    """The end of the active branch (as `tree.effective_leaf`, without reading the whole chat)."""
    leaf = session.active_leaf
    if leaf is not None and session.get_message(leaf) is not None:
        return newest_descendant(session, leaf) if session.child_ids(leaf) else leaf
    return session.last_message_id()


def _roots(session: ChatSession) -> list[str]:
    """The first messages: no parent, or a parent the chat does not hold (as `tree.children_of` counts them)."""
    ids = [m for key in list(session._children) if key is None or session.get_message(key) is None
           for m in session.child_ids(key)]
    return sorted(ids, key=session.position)


def _siblings(session: ChatSession, message: Message, roots: list[str] | None) -> tuple[list[str], int]:
    parent = message.parent_id if message.parent_id and session.get_message(message.parent_id) else None
    pool = session.child_ids(parent) if parent is not None else (roots or [])
    ids = [i for i in pool if (found := session.get_message(i)) is not None and found.role == message.role]
    return ids, ids.index(message.id) if message.id in ids else 0


def _page(session: ChatSession, start: Message | None, limit: int) -> tuple[list[Message], bool]:
    """`start` and its ancestors, at most `limit` of them, oldest first; and whether older ones remain."""
    page: list[Message] = []
    seen: set[str] = set()
    current = start
    while current is not None and current.id not in seen and len(page) < limit:
        seen.add(current.id)
        page.append(current)
        current = session.get_message(current.parent_id) if current.parent_id else None
    page.reverse()
    return page, current is not None and current.id not in seen


def _known(session: ChatSession, message_id: str, field: str) -> Message:
    message = session.get_message(message_id)
    if message is None:
        raise NotFound(f"No message with that {field} in this chat.", field=field)
    return message


def _take(session: ChatSession, limit: int, before: str | None, leaf: str | None) -> dict[str, Any]:
    """Everything the view needs from the session, read while its lock is held."""
    active = active_leaf(session)
    shown_leaf = newest_descendant(session, _known(session, leaf, "leaf").id) if leaf else active
    if before is not None:
        anchor = _known(session, before, "before")
        start = session.get_message(anchor.parent_id) if anchor.parent_id else None
    else:
        start = session.get_message(shown_leaf) if shown_leaf else None
    page, has_more = _page(session, start, limit)
    roots = _roots(session) if any(not m.parent_id or session.get_message(m.parent_id) is None for m in page) \
        else None
    data = {name: getattr(session, name) for name in _FIELDS}
    data["active_leaf"] = active
    data["shown_leaf"] = shown_leaf
    data["has_more"] = has_more
    data["message_count"] = len(session.messages)
    return {"data": data, "page": page, "siblings": [_siblings(session, m, roots) for m in page]}


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
