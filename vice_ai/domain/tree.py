"""A chat as a tree of messages: each message's `parent_id` names the one it follows.

Editing a user message or asking again for a reply adds a *sibling* (same
parent, same role) and keeps the old one; the chat's `active_leaf` says which
branch is shown and sent to the model (the *active path*: the leaf and its
ancestors). Files from before branches have no `active_leaf`: their last
message is the leaf. Everything here reads a session and changes nothing.
"""
from __future__ import annotations

from .models import ChatSession, Message

# The most parent links followed from one message (a malformed file must not loop forever).
MAX_DEPTH = 1_000_000


def children_of(session: ChatSession) -> dict[str | None, list[Message]]:
    """Each parent id (None for the first messages) with its children, oldest first."""
    found: dict[str | None, list[Message]] = {}
    for message in session.messages:
        parent = message.parent_id if session.get_message(message.parent_id or "") is not None else None
        found.setdefault(parent, []).append(message)
    return found


def newest_descendant(session: ChatSession, message_id: str,
                      children: dict[str | None, list[Message]] | None = None) -> str:
    """The message written last among `message_id` and everything below it: always a leaf."""
    children = children_of(session) if children is None else children
    best = session.get_message(message_id)
    assert best is not None
    order = {m.id: i for i, m in enumerate(session.messages)}
    stack = [message_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if order[child.id] > order[best.id]:
                best = child
            stack.append(child.id)
    return best.id


def effective_leaf(session: ChatSession) -> str | None:
    """The end of the active branch: `active_leaf` (through to its newest descendant), else the last message."""
    if session.active_leaf is not None and session.get_message(session.active_leaf) is not None:
        leaf = session.active_leaf
        if any(m.parent_id == leaf for m in session.messages):
            return newest_descendant(session, leaf)
        return leaf
    return session.last_message_id()


def path_to(session: ChatSession, message_id: str | None) -> list[Message]:
    """`message_id` and its ancestors, the first message first ([] for None or an unknown id)."""
    path: list[Message] = []
    seen: set[str] = set()
    current = session.get_message(message_id) if message_id else None
    while current is not None and current.id not in seen and len(path) < MAX_DEPTH:
        seen.add(current.id)
        path.append(current)
        current = session.get_message(current.parent_id) if current.parent_id else None
    path.reverse()
    return path


def active_path(session: ChatSession) -> list[Message]:
    """The messages of the active branch, in order."""
    return path_to(session, effective_leaf(session))


def question_of(session: ChatSession, message: Message) -> Message | None:
    """The user message a reply answers: its nearest user ancestor (past tool steps)."""
    for ancestor in reversed(path_to(session, message.parent_id)):
        if ancestor.role == "user":
            return ancestor
    return None
