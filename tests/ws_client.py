"""The websocket client the tests use: simple_websocket's, keeping the frames that came with the handshake's answer.

simple_websocket's `Client.handshake` takes only the first event of what it read (the 101 answer) and leaves
the rest in wsproto's buffer until the next read brings more bytes. A server that answers at once and closes
(a refused socket: an `error` event, then the close) can send everything in that first read: the next read is
the end of the connection and the buffered event was never delivered.
"""
from __future__ import annotations

import simple_websocket


class WSClient(simple_websocket.Client):
    def _thread(self) -> None:
        # The reader thread first takes what came with the 101 (a message, even the close: then it ends at once).
        self.connected = self._handle_events()
        super()._thread()
