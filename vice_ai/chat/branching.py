"""Where a new turn goes in a chat's tree of messages (see domain/tree.py), checked before anything is written.

Sending follows the end of the active branch, or a given `parent_id` ("edit and
resend": a sibling of the user message that followed that parent). Asking again
adds a sibling reply to the question a reply answered. Continuing goes on with
the active branch's last message. A new branch becomes the active one.
"""
from __future__ import annotations

import re
from types import EllipsisType
from typing import Final

from ..domain.models import ChatSession, Message
from ..domain.tree import active_path, effective_leaf, question_of
from ..errors import BadRequest, Conflict, NotFound

# `parent` when none was given: the end of the active branch.
END: Final = ...
Parent = str | None | EllipsisType

DEFAULT_TITLE = "New chat"
TITLE_CHARS = 60


def parent_for_message(session: ChatSession, parent: Parent) -> tuple[str | None, bool]:
    """The parent of a new user message and whether it starts a new branch (so it must become the active leaf).

    `END`: the end of the active branch; None: a new first message; an id: a reply of this chat.
    """
    leaf = effective_leaf(session)
    if isinstance(parent, EllipsisType):
        return leaf, False
    if parent is None:
        return None, leaf is not None
    found = session.get_message(parent)
    if found is None:
        raise NotFound("No message with that parent_id in this chat.", field="parent_id")
    if found.role not in ("assistant", "tool"):
        raise BadRequest(f"parent_id must name a reply (an assistant or tool message) that a user message may "
                         f"follow, or be null for a new first message; that message is a {found.role} message.",
                         field="parent_id")
    if found.role == "assistant" and found.tool_calls:
        raise BadRequest("parent_id names a step of a reply that called tools; name the reply that ended its turn.",
                         field="parent_id")
    if found.status == "streaming":
        raise Conflict("parent_id names a reply that is still being written.", field="parent_id")
    return found.id, found.id != leaf


def question_to_answer_again(session: ChatSession, message_id: str | None) -> tuple[Message, bool]:
    """The user message a regenerated reply answers, and whether that reply starts a new branch.

    `message_id`: an assistant reply of this chat (None: the active branch's last reply, or its
    last message when that is a question nobody answered).
    """
    if message_id is None:
        path = active_path(session)
        reply = next((m for m in reversed(path) if m.role == "assistant"), None)
        if reply is None:
            if path and path[-1].role == "user":
                return path[-1], False  # never answered: the reply simply follows it
            raise BadRequest("There is no message to answer again.")
    else:
        found = session.get_message(message_id)
        if found is None:
            raise NotFound("No message with that message_id in this chat.", field="message_id")
        if found.role != "assistant":
            raise BadRequest(f"message_id must name an assistant reply; that message is a {found.role} message "
                             "(to change a question, send a new one with its parent_id).", field="message_id")
        reply = found
    question = question_of(session, reply)
    if question is None:
        raise BadRequest("That reply answers no user message.", field="message_id")
    return question, True


def reply_to_continue(session: ChatSession) -> tuple[Message, Message]:
    """The interrupted reply at the end of the active branch, and the question it answers."""
    leaf_id = effective_leaf(session)
    last = session.get_message(leaf_id) if leaf_id else None
    if last is None or last.role != "assistant" or last.status != "interrupted" or not last.content:
        raise Conflict("Only an interrupted reply, the last message of the chat's active branch, can be continued.")
    question = question_of(session, last)
    if question is None:
        raise BadRequest("There is no message to answer.")
    return last, question


def title_from(content: str) -> str:
    """A chat's name from its first message: its first words, on one line."""
    return re.sub(r"\s+", " ", content).strip()[:TITLE_CHARS].strip() or DEFAULT_TITLE


def names_the_chat(session: ChatSession) -> bool:
    """Whether the next user message names the chat: it has the default title and no user message yet."""
    return session.title == DEFAULT_TITLE and not any(m.role == "user" for m in session.messages)
