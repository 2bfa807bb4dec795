"""One websocket on a whole document: its changes and notifications, numbered, resumable.

The same machinery as a chat's socket (`connection.py`: one reader, one writer,
the sign-in checked, `resume` with `seq` and `epoch`, `sync` when the replay
buffer does not reach back), on the document's own channel of the hub. What
reaches that channel comes from `document_feed.py` (sections, chats, shares)
and `Hub.notify_document` (notifications); a client only reads, so the commands
are `resume` and `ping`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .connection import SessionConnection
from .hub import Hub, document_key


class DocumentConnection(SessionConnection):
    """Relays a document's events to one socket."""

    SYNC = "document"

    def __init__(self, ws: Any, document_id: str, hub: Hub, snapshot: Callable[[], dict[str, Any]],
                 user: Any = None, *, parse: Callable[[str | bytes], Any], credential: Any = None,
                 signed_in: Callable[[], bool] | None = None) -> None:
        # No engine: the parser knows only `resume` and `ping`, which the connection answers itself.
        super().__init__(ws, document_key(document_id), document_id, hub, None, snapshot, user, parse=parse,
                         credential=credential, signed_in=signed_in)

    def subscribe(self) -> int:
        return self.hub.subscribe_document(self.document_id, self.sub)

    def hello(self, seq: int) -> dict[str, Any]:
        return {"type": "hello", "local": True, "seq": seq, "epoch": self.hub.epoch, "document_id": self.document_id}
