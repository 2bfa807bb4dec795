"""A chat as a tree of messages: each message's `parent_id` names the one it follows.

Editing a user message or asking again for a reply adds a *sibling* (same
parent, same role) and keeps the old one; the chat's `active_leaf` says which
branch is shown and sent to the model (the *active path*: the leaf and its
ancestors). Files from before branches have no `active_leaf`: their last
message is the leaf. Everything here reads a session and changes nothing, and
costs what it walks, not the whole chat (see `ChatSession.child_ids`): a page
of a long chat (domain/session_page.py) reads it through these functions too.
"""
from __future__ import annotations

from .models import ChatSession, Message

# The most parent links followed from one message (a malformed file must not loop forever).
MAX_DEPTH = 1_000_000


def roots(session: ChatSession) -> list[str]:
    """The ids of the first messages, oldest first: no parent, or a parent the chat does not hold."""
    ids = [m for key in list(session._children) if key is None or session.get_message(key) is None
           for m in session.child_ids(key)]
    return sorted(ids, key=session.position)


def siblings(session: ChatSession, message: Message) -> tuple[list[str], int]:
    """The ids of the messages with `message`'s parent and role (itself included, oldest first), and its
    index among them."""
    parent = message.parent_id if message.parent_id and session.get_message(message.parent_id) else None
    pool = session.child_ids(parent) if parent is not None else roots(session)
    ids = [i for i in pool if (found := session.get_message(i)) is not None and found.role == message.role]
    return ids, ids.index(message.id) if message.id in ids else 0


def newest_descendant(session: ChatSession, message_id: str) -> str:
    """The message written last among `message_id` (a message of the chat) and everything below it:
    always a leaf."""
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


def effective_leaf(session: ChatSession) -> str | None:
    """The end of the active branch: `active_leaf` (through to its newest descendant), else the last message."""
    leaf = session.active_leaf
    if leaf is not None and session.get_message(leaf) is not None:
        return newest_descendant(session, leaf) if session.child_ids(leaf) else leaf
    return session.last_message_id()


def ancestors(session: ChatSession, start: Message | None, limit: int) -> tuple[list[Message], bool]:
    """`start` and its ancestors, at most `limit` of them, the first message first; and whether older ones
    remain."""
    path: list[Message] = []
    seen: set[str] = set()
    current = start
    while current is not None and current.id not in seen and len(path) < limit:
        seen.add(current.id)
        path.append(current)
        current = session.get_message(current.parent_id) if current.parent_id else None
    path.reverse()
    return path, current is not None and current.id not in seen


def path_to(session: ChatSession, message_id: str | None) -> list[Message]:
    """`message_id` and its ancestors, the first message first ([] for None or an unknown id)."""
    return ancestors(session, session.get_message(message_id) if message_id else None, MAX_DEPTH)[0]


def active_path(session: ChatSession) -> list[Message]:
    """The messages of the active branch, in order."""
    return path_to(session, effective_leaf(session))


def question_of(session: ChatSession, message: Message) -> Message | None:
    """The user message a reply answers: its nearest user ancestor (past tool steps)."""
    for ancestor in reversed(path_to(session, message.parent_id)):
        if ancestor.role == "user":
            return ancestor
    return None
