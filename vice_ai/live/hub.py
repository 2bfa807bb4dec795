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

Memory is bounded: a channel is freed once it has had no subscriber and no
reply running in it (between `user_message`/`round_start` and its final
`done`/`stopped`/`error`) for `grace` seconds (a tab that lost its connection
for a moment still resumes with a replay), and the buffers of all channels together hold at most
`total_events` (when over, every channel is cut to its share, oldest first). A
freed channel's session starts again, when next used, from the highest seq any
freed channel reached (`_floor`), never from 0: so a seq a tab holds from before
is either still exact or below what the buffer reaches, and `since` answers it
with `sync` (None) rather than a wrong replay.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import NotFound, ViceError
from .subscriber import Event, QueueSubscriber

__all__ = ["DOCUMENT", "LIST", "Hub", "QueueSubscriber", "Subscriber", "document_key", "stamp"]


class Subscriber(Protocol):
    user: Any

    def put(self, event: dict[str, Any] | None) -> None: ...


DOCUMENT, LIST = "document:", "documents-of:"  # a document's channel; a user's document list's (document_lists.py)


def document_key(document_id: str) -> str:
    """The channel of a document's own events (session ids never start so)."""
    return DOCUMENT + document_id


def stamp(key: str) -> dict[str, str]:
    """The id an event of this channel carries: its session's, or its document's, or its list's user's."""
    if key.startswith(LIST):
        return {"user_id": key[len(LIST):]}
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
    running: bool = False  # a reply is being generated: kept, even without subscribers
    freed: bool = False  # taken out of the hub: whoever holds it takes the channel anew
    idle_since: float | None = None  # when it last lost its last subscriber or finished its reply

# Seconds an idle channel (no subscriber, no reply running) is kept before it is freed.
CHANNEL_GRACE = 30.0
# Events that start and end a running reply.
_STARTS, _ENDS = frozenset({"user_message", "round_start"}), frozenset({"done", "stopped", "error"})


class Hub:
    """Routes events from worker threads to the sockets watching a session or its document."""

    def __init__(self, buffer_size: int = 2000, total_events: int = 100_000, grace: float = CHANNEL_GRACE) -> None:
        self.buffer_size = buffer_size
        self.grace = grace
        self._next_sweep = 0.0
        self.total_events = max(1, total_events)
        # Events buffered in all channels (updated without a lock: recounted exactly when it looks over).
        self._buffered = 0
        # The highest seq a freed channel had: a channel made later starts there.
        self._floor = 0
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
                    channel = _Channel(document_id, seq=self._floor, buffer=deque(maxlen=self.buffer_size))
                    self._channels[session_id] = channel
            self._sweep()
        return channel

    def publish(self, session_id: str, document_id: str, event: dict[str, Any],
                only: set[Subscriber] | None = None) -> dict[str, Any]:
        """Number an event, keep it for catch-up, and hand it to every subscriber of the session (or `only` those)."""
        while True:
            channel = self._channel(session_id, document_id)
            with channel.lock:
                if channel.freed:
                    continue  # freed meanwhile: numbered by the channel that replaces it
                channel.seq += 1
                published = Event(event, seq=channel.seq, **stamp(session_id), epoch=self.epoch)
                if len(channel.buffer) < self.buffer_size:
                    self._buffered += 1
                channel.buffer.append(published)
                kind = event.get("type")
                if kind in _STARTS:
                    channel.running, channel.idle_since = True, None
                elif kind in _ENDS:
                    channel.running = False
                # Queues never block, so delivering under the lock keeps every
                # subscriber's order identical to the seq order.
                for sub in channel.subscribers:
                    if only is None or sub in only:
                        sub.put(published)
                idle = not channel.subscribers and not channel.running
            break
        if idle:
            self._idle(session_id, channel)
        if self._buffered > self.total_events:
            self._trim()
        return published

    def _idle(self, session_id: str, channel: _Channel) -> None:
        """A channel lost its last subscriber or finished its reply: freed now, or after the grace period."""
        if self.grace <= 0:
            self._free(session_id, channel)
        elif channel.idle_since is None:
            channel.idle_since = time.monotonic()
        self._sweep()

    def _sweep(self) -> None:
        """Free the channels idle for longer than the grace period (every grace/2 seconds at most)."""
        now = time.monotonic()
        if now < self._next_sweep or self.grace <= 0:
            return
        self._next_sweep = now + max(1.0, self.grace / 2)
        with self._lock:
            idle = [(sid, ch) for sid, ch in self._channels.items()
                    if ch.idle_since is not None and now - ch.idle_since >= self.grace]
        for sid, channel in idle:
            self._free(sid, channel)

    def _free(self, session_id: str, channel: _Channel) -> None:
        """Forget a channel nobody listens to and no reply runs in (its seq lives on in `_floor`)."""
        with self._lock, channel.lock:
            if channel.freed or channel.subscribers or channel.running or self._channels.get(session_id) is not channel:
                channel.idle_since = None
                return
            channel.freed = True
            del self._channels[session_id]
            self._floor = max(self._floor, channel.seq)
            self._buffered -= len(channel.buffer)

    def _trim(self) -> None:
        """Cut every channel's buffer to its share of `total_events` (to 90% of it, so this runs now and then)."""
        with self._lock:
            channels = list(self._channels.values())
            share = max(1, self.total_events * 9 // 10 // max(1, len(channels)))
            total = 0
            for channel in channels:
                with channel.lock:
                    while len(channel.buffer) > share:
                        channel.buffer.popleft()
                    total += len(channel.buffer)
            self._buffered = total

    def channels(self) -> int:
        """How many channels the hub holds now."""
        return len(self._channels)

    def buffered(self) -> int:
        """Events kept for resuming, in all channels (counted now)."""
        with self._lock:
            channels = list(self._channels.values())
        return sum(len(channel.buffer) for channel in channels)

    def publish_document(self, document_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """Publish to a document's own channel, if a socket ever opened on it (else nobody could resume it)."""
        key = document_key(document_id)
        return self.publish(key, document_id, event) if self.has_channel(key) else None

    def has_channel(self, key: str) -> bool:
        """Whether a channel is held (a socket opened on it and it is not freed yet)."""
        return key in self._channels

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
                idle = bool(found) and not channel.subscribers and not channel.running
            if idle:
                self._idle(sid, channel)
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
        while True:
            channel = self._channel(session_id, document_id)
            with channel.lock:
                if channel.freed:
                    continue
                closing = self._closing
                if closing is None:
                    channel.subscribers.add(sub)
                    channel.idle_since = None
                seq = channel.seq
            break
        if closing is not None:  # the server is stopping: this socket only hears so
            self._idle(session_id, channel)
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
                idle = not channel.subscribers and not channel.running
            if idle:
                self._idle(session_id, channel)

    def since(self, session_id: str, after: int) -> tuple[list[dict[str, Any]] | None, int]:
        """Buffered events after `after`, or None when the buffer no longer reaches back that far."""
        channel = self._channels.get(session_id)
        if channel is None:
            # Never used, or freed: nothing buffered. The next channel starts at the floor.
            with self._lock:
                floor = self._floor
            return ([] if after == floor else None), floor
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
        self._drop_channel(session_id)

    def _drop_channel(self, key: str, seq: int | None = None) -> list[Subscriber]:
        """Free a channel and tell its subscribers `deleted` (numbered after `seq`, by default the channel's
        own); returns them."""
        with self._lock:
            channel = self._channels.pop(key, None)
            if channel:
                with channel.lock:
                    channel.freed = True
                    self._buffered -= len(channel.buffer)
                    self._floor = max(self._floor, channel.seq + 1)
        if not channel:
            return []
        with channel.lock:
            subs, last = list(channel.subscribers), channel.seq if seq is None else seq
        for sub in subs:
            sub.put({"type": "deleted", **stamp(key), "seq": last + 1, "epoch": self.epoch})
        return subs

    # -- other processes: nothing here; with Redis, `live/redis_hub.RedisHub` ---------------
    def set_running(self, running: Callable[[str], Any]) -> None:
        """How to find a session's generation running in this process (its `cancel` event stops it), for
        another process's `stop` (with Redis)."""

    def stop_elsewhere(self, session_id: str) -> bool:
        """Ask the other processes to stop a session's generation; True if one had it (never, alone)."""
        return False

    def behind(self) -> bool:
        """Whether a thread passing events between processes is behind (`live/lag.py`; never, alone)."""
        return False

    def bus_state(self) -> str | None:
        """Redis as this process sees it (`ok`, `unreachable`), or None without Redis."""
        return None

