"""A round: one user turn and the reply to it, as the engine runs it and its callers wait for it."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..coordination.leases import Lease
from ..domain.models import Message
from ..errors import ModelError, StorageError

EventHandler = Callable[[dict[str, Any]], None]


@dataclass
class Round:
    """One user turn and the reply to it."""

    session_id: str
    document_id: str
    user_message: Message
    assistant_message: Message | None = None
    error: ModelError | StorageError | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    # The reply starts a new branch (asked again): it becomes the chat's active leaf.
    new_branch: bool = False
    # The chat's new title when this round's message named it.
    title: str | None = None
    # The chat's generation lease, held from before the user message is written to the round's end.
    lease: Lease | None = None
    # Cancelled by the server's shutdown, not by a user: the reply is kept `interrupted`, to be continued.
    restarting: bool = False

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


def mark_failed(reply: Message | None, reason: str, message: str, retryable: bool) -> None:
    """A reply that ended on a failure: `interrupted` with what it had (it can be continued), else `error`."""
    if reply is not None:
        reply.status = "interrupted" if reply.content else "error"
        reply.error = {"reason": reason, "message": message, "retryable": retryable}
