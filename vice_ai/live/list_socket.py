"""One websocket on a user's document list (`/ws/documents`): what their list shows changed, numbered, resumable.

The same machinery as a document's socket (`document_socket.py`): one reader,
one writer, the sign-in checked, `resume` with `seq` and `epoch`, `sync` (the
list's first page) when the replay buffer does not reach back; on the user's own
list channel (`document_lists.py`). A client only reads: `resume` and `ping`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .connection import SessionConnection
from .document_lists import list_key
from .hub import Hub


class ListConnection(SessionConnection):
    """Relays the events of one user's document list to one socket."""

    SYNC = "documents"

    def __init__(self, ws: Any, user_id: str, hub: Hub, snapshot: Callable[[], dict[str, Any]], user: Any = None, *,
                 parse: Callable[[str | bytes], Any], credential: Any = None,
                 signed_in: Callable[[], bool] | None = None) -> None:
        # No engine: the parser knows only `resume` and `ping`, which the connection answers itself.
        super().__init__(ws, list_key(user_id), "", hub, None, snapshot, user, parse=parse, credential=credential,
                         signed_in=signed_in)
        self.user_id = user_id

    def hello(self, seq: int) -> dict[str, Any]:
        return {"type": "hello", "local": True, "seq": seq, "epoch": self.hub.epoch, "user_id": self.user_id}
