"""Branches of a chat: which one is active, and what the API shows of the tree (see domain/tree.py).

Choosing a message that is not a leaf chooses the path through it to its
newest descendant (the branch written last below it), so the stored
`active_leaf` is always a leaf and the answer says which one it is.
"""
from __future__ import annotations

from ..errors import Busy, NotFound
from ..services import services
from .models import ChatSession
from .tree import newest_descendant


def chosen_leaf(session: ChatSession, message_id: str) -> str:
    """The leaf `PATCH {active_leaf}` stores for `message_id`: itself, or its newest descendant."""
    if session.get_message(message_id) is None:
        raise NotFound("No message with that active_leaf in this chat.", field="active_leaf")
    if services().engine.generating(session.id):
        raise Busy("A reply is being written on the active branch. Wait for it or stop it, then switch branches.")
    return newest_descendant(session, message_id)
