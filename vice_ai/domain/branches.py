"""Branches of a chat: which one is active, and what the API shows of the tree (see domain/tree.py).

Choosing a message that is not a leaf chooses the path through it to its
newest descendant (the branch written last below it), so the stored
`active_leaf` is always a leaf and the answer says which one it is.
"""
from __future__ import annotations

from typing import Any

from ..errors import Busy, NotFound
from ..services import services
from .models import ChatSession
from .tree import newest_descendant, tree_view


def chosen_leaf(session: ChatSession, message_id: str) -> str:
    """The leaf `PATCH {active_leaf}` stores for `message_id`: itself, or its newest descendant."""
    if session.get_message(message_id) is None:
        raise NotFound("No message with that active_leaf in this chat.", field="active_leaf")
    if services().engine.generating(session.id):
        raise Busy("A reply is being written on the active branch. Wait for it or stop it, then switch branches.")
    return newest_descendant(session, message_id)


def with_tree(data: dict[str, Any], session: ChatSession) -> dict[str, Any]:
    """A chat's API view with its branches: `active_leaf`, `active_path`, and per message
    `sibling_ids` (same parent and role, oldest first) and `sibling_index`."""
    tree = tree_view(session)
    data["active_leaf"], data["active_path"] = tree["active_leaf"], tree["active_path"]
    for message in data["messages"]:
        ids, index = tree["siblings"].get(message["id"], ([message["id"]], 0))
        message["sibling_ids"], message["sibling_index"] = ids, index
    return data
