"""The walks over a chat's tree of messages (domain/tree.py) end, whatever the file says."""
from __future__ import annotations

import threading

from vice_ai.domain import tree
from vice_ai.domain.models import ChatSession, Message


def _within(seconds: float, work):
    """`work()`'s answer, failing when it has not returned within `seconds` (a walk that never ends)."""
    found: list = []
    worker = threading.Thread(target=lambda: found.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the walk did not end"
    return found[0]


def test_every_walk_ends_on_a_loop_of_parent_links():
    # A damaged file: q and r name each other as parent, below nothing; a well-formed branch beside them.
    first = Message(role="user", content="first", id="m1")
    reply = Message(role="assistant", content="reply", id="m2", parent_id="m1")
    q = Message(role="user", content="q", id="q", parent_id="r")
    r = Message(role="assistant", content="r", id="r", parent_id="q")
    session = ChatSession(id="s", document_id="d", section_id="x", messages=[first, reply, q, r], active_leaf="q")

    assert _within(5, lambda: tree.newest_descendant(session, "q")) == "r"
    assert _within(5, lambda: tree.effective_leaf(session)) == "r"
    assert [m.id for m in _within(5, lambda: tree.active_path(session))] == ["q", "r"]
    assert [m.id for m in _within(5, lambda: tree.path_to(session, "m2"))] == ["m1", "m2"]
    assert _within(5, lambda: tree.newest_descendant(session, "m1")) == "m2"
