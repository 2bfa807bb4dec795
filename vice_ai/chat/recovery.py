"""Replies left `streaming` by a process that died, and writes fenced by the generation's lease.

A chat's generation holds the lease ("session", id) from before its user
message is written until its final write (`coordination/leases.py`). So a reply
still `streaming` on disk whose lease nobody holds was left by a process that
died mid-reply, and only a process that holds that lease may mark it
`interrupted`: `recover` takes the lease (never waiting: a live holder is
writing it), reads the chat fresh under its locks, marks the reply, tells the
tabs, and gives the lease back.

Within one process, recovering a chat and starting a round in it take turns
(`turn`): a start-up pass or a read that holds the lease for a moment to mark a
reply would otherwise make a read right after a restart see that reply still
`streaming` (its `recover` finds the lease taken and leaves it) and a send be
refused as busy. So a second `recover` waits for the first and then finds
nothing left to mark, and `take_lease` waits for a recovery under way.

With Redis a lease can be lost while its process lives (paused past the time to
live): each write of the reply then checks the lease under the chat's locks
first (`fenced_append`; checkpoints in `ReplyStream._write`), so it never lands after the new holder's.
"""
from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import replace
from typing import Any

from ..coordination.leases import Lease, Leases
from ..domain.models import Message
from ..domain.state import AppState
from ..errors import ModelError, StorageError
from ..live.hub import Hub
from .render import message_view

log = logging.getLogger(__name__)

STOPPED = "The server stopped while this reply was being written; what had arrived is kept."
INTERRUPTED: dict[str, Any] = {"reason": "server_restart", "message": STOPPED, "retryable": True}
# Turns are taken on one of these locks, by chat id (striped: no table growing with the chats; two chats that
# share a stripe only wait for each other's recovery, a journal append).
_TURNS = [threading.Lock() for _ in range(64)]


def turn(session_id: str) -> threading.Lock:
    """The lock a recovery of the chat and the taking of its lease for a round hold in this process."""
    return _TURNS[zlib.crc32(session_id.encode()) % len(_TURNS)]


def take_lease(leases: Leases, session_id: str) -> Lease | None:
    """The chat's lease for a round (None: a live round holds it), once a recovery under way here is over."""
    with turn(session_id):
        return leases.acquire("session", session_id)


def mark_interrupted(state: AppState, hub: Hub, session_id: str) -> int:
    """With the chat's lease held: mark its `streaming` replies interrupted (read fresh under its locks), tell the
    tabs; returns how many."""
    with state.edit_session(session_id) as writer:
        stale = [replace(m, status="interrupted", error=dict(INTERRUPTED))
                 for m in writer.session.messages if m.status == "streaming"]
        for message in stale:
            # A changed copy: the cached message changes only once the record is on disk.
            writer.put_message(message)
        document_id = writer.session.document_id
    error = ModelError(STOPPED, reason="server_restart").error_object()
    for message in stale:
        hub.publish(session_id, document_id, {"type": "error", "message": message_view(message), "error": error})
    return len(stale)


def recover(state: AppState, hub: Hub, leases: Leases, session_id: str) -> int:
    """Mark the replies a dead process left `streaming` interrupted, when no live process holds the chat's lease."""
    session = state.get_chat_session(session_id)
    if session is None or not any(m.status == "streaming" for m in session.messages):
        return 0
    with turn(session_id):  # after a recovery of it under way here (which leaves nothing to mark)
        try:
            lease = leases.acquire("session", session_id)
        except StorageError as exc:  # Redis out of reach: the next read tries again
            log.warning("could not take the lease of session %s to recover it: %s", session_id, exc.message)
            return 0
        if lease is None:
            return 0  # a live round (maybe of this process) is writing the reply
        try:
            return mark_interrupted(state, hub, session_id)
        except StorageError as exc:
            # Reading a chat never fails for a write it cannot make: the next read tries again.
            log.warning("could not mark the interrupted replies of session %s (will retry): %s",
                        session_id, exc.message)
            return 0
        finally:
            lease.release()


def sweep(state: AppState, hub: Hub, leases: Leases) -> int:
    """Recover every chat whose generation's holder died without releasing (Redis); returns replies marked."""
    marked = 0
    for session_id in leases.orphans("session"):
        try:
            marked += recover(state, hub, leases, session_id)
        except Exception:
            log.exception("recovering session %s failed", session_id)
            continue
        leases.forget_orphan("session", session_id)
    return marked


def fenced_append(state: AppState, lease: Lease | None, session_id: str, message: Message,
                  changes: dict[str, Any] | None) -> None:
    """Append a message of a round; with a lease that can be lost, only after checking it under the chat's locks."""
    if lease is None or not lease.fenced:
        state.append_message(session_id, message, changes)
        return
    if not state.store.exists("sessions", session_id):
        state.append_message(session_id, message, changes)  # NotFound, with no lock file made for it
        return
    with state.hold("sessions", session_id):
        lease.check()
        state.append_message(session_id, message, changes)
