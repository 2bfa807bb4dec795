"""The notification hub: numbered, buffered events per session, fanned out to subscribers.

Any thread may publish. Each session has a sequence counter and a bounded buffer
of its recent events so that a reconnecting tab can catch up (`since`). Each
subscriber is a queue drained by exactly one writer thread (its websocket).

The counters live in this process only and begin again at 0 when the server
restarts, so every hub has an `epoch` (random, made when the app starts) that
`hello`, `sync` and every session event carry: a seq means something only
together with its epoch. `close_all` ends every subscription when the server
stops (each socket gets a last event, then closes).

A document has a channel of its own too (`document_key`), made when its first
socket opens: the changes of its sections, chats and shares (`live/document_feed.py`)
and the notifications of its sections, numbered like a session's events but
stamped with `document_id`. Revalidation, sign-outs and `close_all` reach it like
any session's channel.
"""
from __future__ import annotations

import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import NotFound, ViceError


class Subscriber(Protocol):
    user: Any

    def put(self, event: dict[str, Any] | None) -> None: ...


DOCUMENT = "document:"


def document_key(document_id: str) -> str:
    """The channel of a document's own events (session ids never start so)."""
    return DOCUMENT + document_id


def stamp(key: str) -> dict[str, str]:
    """The id an event of this channel carries: its session's, or for a document's channel the document's."""
    return {"document_id": key[len(DOCUMENT):]} if key.startswith(DOCUMENT) else {"session_id": key}


@dataclass
class _Channel:
    document_id: str
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    subscribers: set[Subscriber] = field(default_factory=set)
    # Guards this channel's seq, buffer and subscribers. One lock per session, not one
    # for the hub: with hundreds of streams a shared lock taken per token convoys
    # behind the GIL (docs/bench-stream.md).
    lock: threading.Lock = field(default_factory=threading.Lock)


class Hub:
    """Routes events from worker threads to the sockets watching a session or its document."""

    def __init__(self, buffer_size: int = 2000) -> None:
        self.buffer_size = buffer_size
        # This run of the server: seqs from another epoch cannot be resumed.
        self.epoch = secrets.token_hex(8)
        # Set by close_all: the last event each socket gets (new subscribers get it at once).
        self._closing: dict[str, Any] | None = None
        # Guards the channel table only; a channel's own lock may be taken while
        # holding it, never the other way round.
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        # may_see(user, document_id): set by the app; None lets everyone see everything.
        self._may_see: Callable[[Any, str], bool] | None = None
        # watch(document_id): set by the app (the document feed), called before a document's socket subscribes.
        self._watch: Callable[[str], None] | None = None

    def set_access(self, may_see: Callable[[Any, str], bool]) -> None:
        """The rule for which subscribers' users may still see a document's sessions."""
        self._may_see = may_see

    def set_watcher(self, watch: Callable[[str], None]) -> None:
        """Who starts telling a document's changes when a socket opens on it (`live/document_feed.py`)."""
        self._watch = watch

    def _allowed(self, subs: list[Subscriber], document_id: str) -> set[Subscriber]:
        """The subscribers whose user may see the document (checked outside the hub lock: it reads files)."""
        if self._may_see is None:
            return set(subs)
        verdicts: dict[int, bool] = {}
        allowed = set()
        for sub in subs:
            key = id(sub.user)
            if key not in verdicts:
                verdicts[key] = self._may_see(sub.user, document_id)
            if verdicts[key]:
                allowed.add(sub)
        return allowed

    def _channel(self, session_id: str, document_id: str) -> _Channel:
        channel = self._channels.get(session_id)  # a dict read needs no lock
        if channel is None:
            with self._lock:
                channel = self._channels.get(session_id)
                if channel is None:
                    channel = _Channel(document_id, buffer=deque(maxlen=self.buffer_size))
                    self._channels[session_id] = channel
        return channel

    def publish(self, session_id: str, document_id: str, event: dict[str, Any],
                only: set[Subscriber] | None = None) -> dict[str, Any]:
        """Number an event, keep it for catch-up, and hand it to every subscriber of the session (or `only` those)."""
        channel = self._channel(session_id, document_id)
        with channel.lock:
            channel.seq += 1
            event = {**event, "seq": channel.seq, **stamp(session_id), "epoch": self.epoch}
            channel.buffer.append(event)
            # Queues never block, so delivering under the lock keeps every
            # subscriber's order identical to the seq order.
            for sub in channel.subscribers:
                if only is None or sub in only:
                    sub.put(event)
        return event

    def publish_document(self, document_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """Publish to a document's own channel, if a socket ever opened on it (else nobody could resume it)."""
        key = document_key(document_id)
        if key not in self._channels:
            return None
        return self.publish(key, document_id, event)

    def subscribe_document(self, document_id: str, sub: Subscriber) -> int:
        """Start delivering a document's own events to `sub`; returns the current seq."""
        if self._watch is not None:
            self._watch(document_id)
        return self.subscribe(document_key(document_id), document_id, sub)

    def drop_document(self, document_id: str) -> None:
        """Forget a deleted document's channel; its subscribers get a final event and are released."""
        self.drop_session(document_key(document_id))

    def notify_document(self, document_id: str, payload: dict[str, Any], exclude_session: str | None = None) -> int:
        """Publish a notification to every watched session of a document whose users may see it, and to the
        document's own channel (kept for resuming, watched or not); returns how many channels."""
        targets = {sid: subs for sid, subs in self._watching(document_id)
                   if (subs or sid.startswith(DOCUMENT)) and sid != exclude_session}
        allowed = self._allowed([sub for subs in targets.values() for sub in subs], document_id)
        for sid in targets:
            self.publish(sid, document_id, {"type": "notification", **payload}, only=allowed)
        return len(targets)

    def revalidate(self, document_id: str) -> int:
        """Close the sockets on a document's sessions whose user may no longer see it; returns how many."""
        watching = [(sid, sub) for sid, subs in self._watching(document_id) for sub in subs]
        allowed = self._allowed([sub for _, sub in watching], document_id)
        gone = [(sid, sub) for sid, sub in watching if sub not in allowed]
        for sid, sub in gone:
            self.unsubscribe(sid, sub)
        # Looks exactly like a session that does not exist.
        self._close(gone, NotFound("Chat session not found.", retryable=False))
        return len(gone)

    def disconnect(self, match: Callable[[Subscriber], bool], error: ViceError) -> int:
        """Close every socket whose subscriber `match`es (a signed-out user's, say), on any session;
        returns how many. `match` runs under a channel lock: it must be quick and read no files."""
        with self._lock:
            channels = list(self._channels.items())
        gone: list[tuple[str, Subscriber]] = []
        for sid, channel in channels:
            with channel.lock:
                found = [sub for sub in channel.subscribers if match(sub)]
                channel.subscribers.difference_update(found)
            gone += [(sid, sub) for sub in found]
        self._close(gone, error)
        return len(gone)

    @staticmethod
    def _close(gone: list[tuple[str, Subscriber]], error: ViceError) -> None:
        """An `error` event (seq 0) to each unsubscribed socket, then the end: its writer sends it and closes."""
        for sid, sub in gone:
            sub.put({"type": "error", "seq": 0, **stamp(sid), "error": error.error_object()})
            sub.put(None)

    def _watching(self, document_id: str) -> list[tuple[str, list[Subscriber]]]:
        """(session id, its subscribers) for every channel of a document."""
        with self._lock:
            channels = [(sid, ch) for sid, ch in self._channels.items() if ch.document_id == document_id]
        found = []
        for sid, channel in channels:
            with channel.lock:
                found.append((sid, list(channel.subscribers)))
        return found

    def subscribe(self, session_id: str, document_id: str, sub: Subscriber) -> int:
        """Start delivering a session's events to `sub`; returns the current seq."""
        channel = self._channel(session_id, document_id)
        with channel.lock:
            closing = self._closing
            if closing is None:
                channel.subscribers.add(sub)
            seq = channel.seq
        if closing is not None:  # the server is stopping: this socket only hears so
            sub.put(closing)
            sub.put(None)
        return seq

    def close_all(self, event: dict[str, Any], timeout: float = 5.0) -> int:
        """Give every subscriber `event` as its last, then wait (up to `timeout`) until they are gone.

        Used when the server stops: each socket's writer sends the event and
        returns, which closes the socket. Later subscribers get the event at
        once. Returns how many subscribers were still there at the deadline.
        """
        with self._lock:
            self._closing = event
            channels = list(self._channels.values())
        for channel in channels:
            with channel.lock:
                subs = list(channel.subscribers)
            for sub in subs:
                sub.put(event)
                sub.put(None)
        deadline = time.monotonic() + timeout
        while True:
            left = sum(len(self.subscribers_of(channel)) for channel in channels)
            if left == 0 or time.monotonic() >= deadline:
                return left
            time.sleep(0.02)

    @staticmethod
    def subscribers_of(channel: _Channel) -> list[Subscriber]:
        with channel.lock:
            return list(channel.subscribers)

    def unsubscribe(self, session_id: str, sub: Subscriber) -> None:
        channel = self._channels.get(session_id)
        if channel is not None:
            with channel.lock:
                channel.subscribers.discard(sub)

    def since(self, session_id: str, after: int) -> tuple[list[dict[str, Any]] | None, int]:
        """Buffered events after `after`, or None when the buffer no longer reaches back that far."""
        channel = self._channels.get(session_id)
        if channel is None:
            return ([] if after == 0 else None), 0
        with channel.lock:
            if after > channel.seq:
                return None, channel.seq  # a seq from before a restart
            oldest = channel.buffer[0]["seq"] if channel.buffer else channel.seq + 1
            if after + 1 < oldest:
                return None, channel.seq
            return [e for e in channel.buffer if e["seq"] > after], channel.seq

    def subscribers(self, session_id: str) -> list[Subscriber]:
        channel = self._channels.get(session_id)
        if channel is None:
            return []
        with channel.lock:
            return list(channel.subscribers)

    def drop_session(self, session_id: str) -> None:
        """Forget a deleted session; its subscribers get a final event and are released."""
        with self._lock:
            channel = self._channels.pop(session_id, None)
        if channel:
            with channel.lock:
                subs, seq = list(channel.subscribers), channel.seq
            for sub in subs:
                sub.put({"type": "deleted", **stamp(session_id), "seq": seq + 1, "epoch": self.epoch})

    # -- other processes: nothing here; with Redis, `live/redis_hub.RedisHub` ---------------
    def set_running(self, running: Callable[[str], Any]) -> None:
        """How to find a session's generation running in this process (its `cancel` event stops it), for
        another process's `stop` (with Redis)."""

    def stop_elsewhere(self, session_id: str) -> bool:
        """Ask the other processes to stop a session's generation; True if one had it (never, alone)."""
        return False

    def bus_state(self) -> str | None:
        """Redis as this process sees it (`ok`, `unreachable`), or None without Redis."""
        return None


class QueueSubscriber:
    """A subscriber backed by a bounded queue; overflow marks it so its socket can close."""

    def __init__(self, user: Any = None, maxsize: int = 10_000, credential: Any = None) -> None:
        self.user = user
        # The sign-in the socket was opened with (password mode), so ending it can close the socket.
        self.credential = credential
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=maxsize)
        self.overflowed = False

    def put(self, event: dict[str, Any] | None) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True
