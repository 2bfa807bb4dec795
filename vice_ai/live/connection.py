"""One websocket connection on a chat session: a reader thread for commands, one writer.

Worker threads publish to the hub, the hub puts events on this connection's
queue, and the writer (the thread that runs the connection) sends them. While
the writer waits on an empty queue, the publishing thread frames and writes the
event itself without blocking (`_send_now`: no second thread woken per token);
what the socket cannot take at once the writer sends next, so only one thread
writes at a time and the order is kept. Events about the session carry the session's
`seq` and the server run's `epoch`; replies meant for this connection only carry
`"local": true`. A `resume` from another epoch (a tab that was open before a
restart), or without one, gets `sync`: its seq may count events of a run that is gone.

Commands and events are declared in `api/schemas/websocket.py`; the route hands
the connection its `parse` (`api/ws.parse_command`: `parse_json`, then the command
models), so this layer never reads raw JSON itself. Whatever is wrong with a
command, and whatever fails while running it, answers one local `error` event
and the socket stays open.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import TextMessage

from ..errors import BadRequest, Busy, Unauthorized, ViceError
from .hub import Hub, stamp
from .subscriber import QueueSubscriber, Unsent, encode

log = logging.getLogger(__name__)

_CLOSE = {"type": "_close"}
# Events after which the writer closes the socket (it sends them itself).
_ENDING = frozenset({"deleted", "restarting"})
# Linux and macOS: one write that never blocks, even on a blocking socket (elsewhere only the writer writes).
_DONTWAIT: int | None = getattr(socket, "MSG_DONTWAIT", None)
# Most events one socket write carries.
MAX_BATCH = 256
# Seconds between checks that the socket's sign-in still holds while no command comes.
SIGNED_IN_CHECK = 10.0


class SessionConnection:
    """Relays a session's events to one socket and its commands to the engine."""

    SYNC = "session"  # the name of the saved state in a `sync` event

    def __init__(self, ws: Any, session_id: str, document_id: str, hub: Hub, engine: Any,
                 snapshot: Callable[[], dict[str, Any]], user: Any = None, *,
                 parse: Callable[[str | bytes], Any], credential: Any = None,
                 signed_in: Callable[[], bool] | None = None) -> None:
        self.ws = ws
        self.session_id = session_id
        self.document_id = document_id
        self.hub = hub
        self.engine = engine
        self.snapshot = snapshot  # the persisted session, for a client too far behind
        self.sub = QueueSubscriber(user, credential=credential)
        # One websocket message -> a validated command (`.type` and its fields), or a ViceError.
        self.parse = parse
        # Whether the socket's sign-in still holds (None: nothing to check, as in local mode).
        self.signed_in = signed_in
        self._next_check = time.monotonic() + SIGNED_IN_CHECK

    def run(self, opening: AbstractContextManager[Any] | None = None) -> None:
        """Serve until either side closes; returns when the socket is done. `opening` is held while the socket
        subscribes, says hello and starts its reader (the engine's gate: a burst of sockets opening at once
        never crowds out the replies streaming)."""
        subscribed = False
        try:
            with opening or nullcontext():
                seq = self.subscribe()
                subscribed = True
                self._send(self.hello(seq))
                if self._frames() is not None and _DONTWAIT is not None:
                    self.sub.queue.direct = self._send_now
                reader = threading.Thread(target=self._read_loop, name=f"ws-read-{self.session_id[:8]}",
                                          daemon=True)
                reader.start()
            if self._write_loop() == "restarting":
                self._close_for_restart()
        finally:
            if subscribed:
                self.hub.unsubscribe(self.session_id, self.sub)

    def subscribe(self) -> int:
        return self.hub.subscribe(self.session_id, self.document_id, self.sub)

    def hello(self, seq: int) -> dict[str, Any]:
        """The first event: the channel's seq when the socket opened, and whether a reply is running."""
        return {"type": "hello", "local": True, "seq": seq, "epoch": self.hub.epoch, "session_id": self.session_id,
                "generating": self.engine.generating(self.session_id)}

    def _close_for_restart(self, timeout: float = 2.0) -> None:
        """Close with 1012 (service restart) and wait for the client's answer before the socket goes.

        Closing the TCP socket at once can reset the connection before the
        browser has read the last events (`stopped`, `restarting`); after the
        closing handshake it has them all.
        """
        try:
            self.ws.close(reason=1012, message="The server is restarting.")
        except Exception:
            return  # already closed by the other side
        thread = getattr(self.ws, "thread", None)
        if isinstance(thread, threading.Thread):
            thread.join(timeout)  # simple_websocket's reader ends on the client's close frame

    def _write_loop(self) -> str | None:
        """Send queued events until the end; returns the type of the last event sent when it ended the socket."""
        while True:
            if self.signed_in is not None and time.monotonic() >= self._next_check:
                self._next_check = time.monotonic() + SIGNED_IN_CHECK
                if not self.signed_in():
                    self._signed_out()
            # Everything already queued goes out in one socket write: under load a burst
            # costs one wake-up and one syscall (and one wait for the GIL), not one each.
            batch = self.sub.queue.take(MAX_BATCH, 1.0)
            if not batch:
                if self.sub.overflowed or not self.ws.connected:
                    return None  # too slow a reader: the client reconnects and resumes
                continue
            to_send: list[Any] = []
            done = False
            for item in batch:
                if item is None or item is _CLOSE:
                    done = True
                    break
                to_send.append(item)
                if not isinstance(item, Unsent) and item.get("type") in _ENDING:
                    done = True
                    break
            if to_send:
                self._send_events(to_send)
            if done:
                last = to_send[-1] if to_send else None
                return last.get("type") if isinstance(last, dict) else None

    def _send(self, event: dict[str, Any]) -> None:
        self._send_events([event])

    def _frames(self) -> tuple[Any, Any] | None:
        """simple_websocket's wsproto connection and socket (None for anything else: then `ws.send`)."""
        frames, sock = getattr(self.ws, "ws", None), getattr(self.ws, "sock", None)
        return None if frames is None or sock is None else (frames, sock)

    def _send_events(self, events: list[Any]) -> None:
        """Send events as one websocket message each (and the rest of a frame begun by `_send_now` first),
        written to the socket together."""
        found = self._frames()
        if found is None:
            for event in events:
                self.ws.send(encode(event))
            return
        # simple_websocket sends one message per call; its wsproto connection
        # frames several (compressed if negotiated), and one sendall writes them.
        frames, sock = found
        if not self.ws.connected and not isinstance(events[0], Unsent):
            raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
        # A published event is encoded once for every socket.
        sock.sendall(b"".join(event if isinstance(event, Unsent) else frames.send(TextMessage(data=encode(event)))
                              for event in events))

    def _send_now(self, event: dict[str, Any]) -> bytes | None:
        """The publishing thread writes an event itself, while the writer waits on an empty queue (EventQueue.direct):
        what is left of its frame when the socket cannot take it all at once (b"": nothing); None: not framed,
        the writer sends it (an event that ends the socket, or one for a closed socket)."""
        found = self._frames()
        if found is None or not self.ws.connected or event.get("type") in _ENDING:
            return None
        frames, sock = found
        data = frames.send(TextMessage(data=encode(event)))
        return data[self._write_now(sock, data):]

    @staticmethod
    def _write_now(sock: Any, data: bytes) -> int:
        """Write without waiting; how many bytes the socket took (0 when full; a broken socket's
        failure is left to the writer, which sends the rest)."""
        try:
            return int(sock.send(data, _DONTWAIT))
        except OSError:
            return 0

    def _local(self, event: dict[str, Any]) -> None:
        self.sub.put({**event, "local": True})

    def _read_loop(self) -> None:
        try:
            while True:
                raw = self.ws.receive()
                if raw is None:
                    continue
                self.handle(raw)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("websocket reader failed")
        finally:
            self.sub.put(None)  # wake the writer so it can finish

    def handle(self, raw: str | bytes) -> None:
        """Parse one client command and run it; any failure is a local error event, never a closed socket."""
        if self.signed_in is not None and not self.signed_in():
            self._signed_out()
            return
        try:
            command = self.parse(raw)
            if command.type == "send":
                self.engine.send_message(self.session_id, command.content, parent=command.parent(),
                                         references=command.reference_dicts())
            elif command.type == "retry":
                self.engine.regenerate(self.session_id, message_id=command.message_id)
            elif command.type == "continue":
                self.engine.continue_reply(self.session_id)
            elif command.type == "stop":
                self.engine.stop(self.session_id)
            elif command.type == "resume":
                self.resume(command.after, command.epoch)
            elif command.type == "ping":
                self._local({"type": "pong"})
            else:  # a command the parser knows and this connection does not
                raise BadRequest(f"Unknown command type {command.type!r}.", field="type")
        except ViceError as err:
            self._error(err)
        except Exception:
            log.exception("websocket command failed in session %s", self.session_id)
            self._error(ViceError("The command failed because of an error in the server; it has been logged."))

    def resume(self, after: int, epoch: str | None = None) -> None:
        """Send what the client missed after `after`, or the persisted session if too much or not of this run.

        A seq without its epoch may count events of an earlier run (an old page): the saved session, then.
        """
        events, current = self.hub.since(self.session_id, after)
        if events is None or epoch != self.hub.epoch:
            self._local({"type": "sync", "seq": current, "epoch": self.hub.epoch, self.SYNC: self.snapshot()})
            return
        for event in events:
            self.sub.put(event)

    def _signed_out(self) -> None:
        """The sign-in ended: no more events, an `unauthorized` error, then the writer closes the socket."""
        self.hub.unsubscribe(self.session_id, self.sub)
        err = Unauthorized("You were signed out.", retryable=False)
        self.sub.put({"type": "error", "seq": 0, **stamp(self.session_id), "error": err.error_object()})
        self.sub.put(None)

    def _error(self, err: ViceError) -> None:
        """A command failed: tell this connection only, in the one error shape (busy is worth retrying)."""
        self._local({"type": "error", "error": {"retryable": isinstance(err, Busy), **err.error_object()}})
