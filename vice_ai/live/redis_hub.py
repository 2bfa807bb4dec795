"""The hub when `REDIS_URL` is set: the same public methods, every process of the app on one set of channels.

`RedisHub` keeps `Hub`'s local table of sockets (subscribers) per channel and
its access checks (`set_access`: each process checks its own sockets), and moves
what must be shared to Redis (`redis_bus.py`):

- `publish` queues the event for the publisher thread (`redis_publisher.py`),
  which numbers it in Redis (many events per round trip) and delivers it at once
  to this process's sockets; the other processes get it from the listener
  thread (`_on_event`). Either way a channel's events reach a socket in seq order:
  each channel remembers the last seq it delivered here (whichever of the
  publisher and the pub/sub echo comes first delivers, the other is skipped), and
  a seq that skips ahead (a message lost while the listener reconnected) is
  filled from the Stream first, so a socket never sees a gap; one the Stream no
  longer has ends its sockets (they reconnect and `resume`, or get `sync`). The
  event `publish` returns gets its `seq` once Redis numbered it (`flush` waits).
- Each event is decoded at most once per process and its JSON for the sockets
  made once (the wire JSON with seq, id and epoch spliced on), as the embedded hub does.
- `subscribe` answers Redis's seq (and epoch); events at or below it that were
  still on their way are not delivered to that socket (it starts after them).
- `since` reads the Stream: a tab that saw seq 40 on process A resumes on B with 41...
- `notify_document` reaches every session of the document watched in any
  process (a sorted set in Redis, each chat scored by when a socket last
  watched it; processes renew their sockets' scores, and entries older than
  `WATCH_SECONDS` are cut, so the set never grows per chat ever opened); each
  process delivers it only to the sockets whose user may see the document.
- Memory here is bounded like the embedded hub's: a channel's local table
  (`_delivered`) goes with its last socket, each socket's start (`_starts`) with
  the socket, and idle channels are freed after the grace period; a freed channel
  resumes from the Stream in Redis like any other.
- `revalidate`, `disconnect` (with a `Revocation`), `drop_session` run here at
  once and in every other process through a control message; `stop_elsewhere`
  asks every process to stop a session's generation and says whether one had it.
- If Redis cannot be reached, `publish` logs and goes on (the reply is still
  saved; the tabs catch up with `sync`), while `subscribe`, `since` and
  `stop_elsewhere` answer `Unavailable` (503).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from typing import Any

from ..errors import Unavailable, ViceError
from .hub import CHANNEL_GRACE, DOCUMENT, LIST, Hub, Subscriber, document_key, stamp
from .redis_bus import PREFIX, RedisBus, seq_key, stream_key
from .redis_publisher import Outgoing, Publisher
from .revocation import Revocation
from .subscriber import Event

log = logging.getLogger(__name__)

# How often the keys of channels this process's sockets watch get their TTL renewed.
RENEW_SECONDS = 600.0
# A chat counts as watched (notifications go to it) this long after a socket last watched it.
WATCH_SECONDS = 3 * RENEW_SECONDS
# Keys an event's own fields may not have for its JSON to be spliced (the hub adds them).
_STAMPED = frozenset({"seq", "epoch", "session_id", "document_id", "_for_readers_of"})


def watch_key(document_id: str) -> str:
    """The sorted set of a document's channels some socket (in any process) watched, by when."""
    return f"{PREFIX}watching:{document_id}"


# The sorted set of the document-list channels some socket (in any process) watched, by when (document_lists.py).
LISTS_WATCHED = f"{PREFIX}watching:lists"


def watch_set(key: str, document_id: str) -> str | None:
    """The watch set a socket on channel `key` is scored in: its document's (a chat), the lists' (a document list),
    or none (a document's own channel)."""
    if key.startswith(LIST):
        return LISTS_WATCHED
    return None if key.startswith(DOCUMENT) else watch_key(document_id)


def stamped_text(payload: str, key: str, seq: int, epoch: str) -> str:
    """The JSON a socket gets: the event's wire JSON with seq, its id and the epoch added (as `stamp` does)."""
    extra = json.dumps({"seq": seq, **stamp(key), "epoch": epoch}, ensure_ascii=False)
    return payload[:-1] + ", " + extra[1:] if payload != "{}" else extra


class _Remote(ViceError):
    """An error told by another process: its code and message as they were."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", "")))
        self._object = error

    def error_object(self) -> dict[str, Any]:
        return dict(self._object)


class RedisHub(Hub):
    """A hub whose channels are shared by every process on the same Redis."""

    def __init__(self, url: str, buffer_size: int = 2000, ttl: int | None = None, total_events: int = 100_000,
                 grace: float = CHANNEL_GRACE) -> None:
        super().__init__(buffer_size, total_events=total_events, grace=grace)
        self.bus = RedisBus(url, maxlen=buffer_size, **({"ttl": ttl} if ttl else {}))
        try:
            self.epoch = self.bus.epoch(self.epoch)
        except Unavailable:
            log.error("Redis is not reachable at start: live events between processes wait for it")
        # The last seq delivered here, per channel; and each new socket's start (events up to it are not its).
        self._delivered: dict[str, int] = {}
        # Weak: a socket that ended without unsubscribing (its channel dropped, say) leaves nothing behind.
        self._starts: weakref.WeakKeyDictionary[Subscriber, int] = weakref.WeakKeyDictionary()
        # Taken by the listener for each event and by `subscribe` while it reads the seq: a socket
        # joins between two events, never in the middle of one.
        self._deliver_lock = threading.Lock()
        self._running: Any = None
        self._renewed = time.monotonic()
        self.bus.on_event = self._on_event
        self.bus.on_control = self._on_control
        self.bus.on_reconnect = self._catch_up
        self.bus.on_tick = self._renew
        self.publisher = Publisher(self.bus, self._numbered)
        self.bus.start()

    # -- events --------------------------------------------------------------------------
    def publish(self, session_id: str, document_id: str, event: dict[str, Any],
                only: set[Subscriber] | None = None) -> dict[str, Any]:
        wire = dict(event)
        if only is not None:  # each process checks its own sockets' access (`notify_document`)
            wire["_for_readers_of"] = document_id
        returned = {**event, **stamp(session_id), "epoch": self.epoch}  # its seq comes once Redis numbered it
        self.publisher.put(Outgoing(session_id, json.dumps(wire, ensure_ascii=False), wire, returned))
        return returned

    def behind(self) -> bool:
        return self.publisher.lag.behind() or self.bus.lag.behind()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event published so far is numbered in Redis (and delivered here)."""
        return self.publisher.flush(timeout)

    def _numbered(self, item: Outgoing, seq: int, epoch: str) -> None:
        """One of this process's events, numbered (the publisher thread): to this process's sockets now."""
        self.epoch = epoch
        self._on_event(item.key, seq, epoch, item.payload, item.event)

    def publish_document(self, document_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        # The feed publishes only for documents some socket watches (redis_feed.py).
        return self.publish(document_key(document_id), document_id, event)

    def _on_event(self, key: str, seq: int, epoch: str, payload: str, event: dict[str, Any] | None = None) -> None:
        """One numbered event (the listener's, or the publisher's for this process's own): to this process's
        sockets on its channel, once."""
        last = self._delivered.get(key)  # a dict read needs no lock: most echoes stop here
        if last is None or seq <= last:
            return
        with self._deliver_lock:
            last = self._delivered.get(key)
            if last is None:
                return  # no socket here
            if seq <= last:
                return  # already delivered (filled in from the Stream, or by the publisher), or before its sockets
            if seq > last + 1 and not self._fill(key, last, seq):
                return
            self._deliver(key, seq, epoch, payload, event)

    def _fill(self, key: str, last: int, seq: int) -> bool:
        """Deliver the events between `last` and `seq` from the Stream; False (sockets ended) if it lost them."""
        try:
            found, _ = self.bus.since(key, last)
        except Unavailable:
            found = None
        missing = [(s, p) for s, p in (found or []) if last < s < seq]
        if found is None or len(missing) != seq - last - 1:
            self._end_subscribers(key, seq)
            return False
        for s, payload in missing:
            self._deliver(key, s, self.epoch, payload)
        return True

    def _deliver(self, key: str, seq: int, epoch: str, payload: str, wire: dict[str, Any] | None = None) -> None:
        channel = self._channels.get(key)
        if channel is None:
            self._delivered.pop(key, None)  # freed or dropped: nothing here to deliver to
            return
        with channel.lock:
            if not channel.subscribers:  # its sockets were closed (a sign-out, say): nothing to remember
                self._delivered.pop(key, None)
                return
            self._delivered[key] = seq
            subs = [sub for sub in channel.subscribers if self._starts.get(sub, 0) < seq]
        if not subs:
            return
        if wire is None:
            wire = json.loads(payload)
        event = Event(wire)
        readers_of = event.pop("_for_readers_of", None)
        if readers_of is not None:
            allowed = self._allowed(subs, readers_of)
            subs = [sub for sub in subs if sub in allowed]
        elif _STAMPED.isdisjoint(wire):
            event._text = stamped_text(payload, key, seq, epoch)  # encoded once, for every socket here
        event.update({"seq": seq, **stamp(key), "epoch": epoch})
        self.epoch = epoch
        for sub in subs:
            sub.put(event)

    def _end_subscribers(self, key: str, seq: int) -> None:
        """Events of a channel were lost here: its sockets end, so their clients reconnect and catch up."""
        self._delivered.pop(key, None)
        channel = self._channels.get(key)
        if channel is None:
            return
        with channel.lock:
            subs = list(channel.subscribers)
            channel.subscribers.clear()
        for sub in subs:
            self._starts.pop(sub, None)
            sub.put(None)

    def _catch_up(self) -> None:
        """After the listener reconnected: what each watched channel missed, from the Streams."""
        for key in list(self._delivered):
            try:
                found, current = self.bus.since(key, self._delivered[key])
            except Unavailable:
                return
            with self._deliver_lock:
                last = self._delivered.get(key, 0)
                if found is None:
                    self._end_subscribers(key, current)
                    continue
                for seq, payload in found:
                    if seq > last:
                        self._deliver(key, seq, self.epoch, payload)

    # -- sockets -------------------------------------------------------------------------
    def subscribe(self, session_id: str, document_id: str, sub: Subscriber) -> int:
        try:
            with self._deliver_lock:
                super().subscribe(session_id, document_id, sub)
                seq, epoch = self.bus.current(session_id)
                self._starts[sub] = seq
                if len(self.subscribers(session_id)) == 1:  # the first here: deliver from now on
                    self._delivered[session_id] = seq
                else:  # the others' events still on their way must reach them
                    self._delivered.setdefault(session_id, seq)
            if epoch:
                self.epoch = epoch
            # A chat's: notifications of its document reach it; a list's: saves of its user's documents do.
            watched = watch_set(session_id, document_id)
            if watched is not None:
                self.bus.watch(watched, {session_id: time.time()}, WATCH_SECONDS)
        except Exception as exc:
            self.unsubscribe(session_id, sub)
            err = exc if isinstance(exc, Unavailable) else Unavailable("Redis is not reachable.", reason="redis")
            self._close([(session_id, sub)], err)
            return 0
        self._renew()
        return seq

    def unsubscribe(self, session_id: str, sub: Subscriber) -> None:
        with self._deliver_lock:
            super().unsubscribe(session_id, sub)
            self._starts.pop(sub, None)
            if not self.subscribers(session_id):
                self._delivered.pop(session_id, None)

    def since(self, session_id: str, after: int) -> tuple[list[dict[str, Any]] | None, int]:
        found, current = self.bus.since(session_id, after)
        if found is None:
            return None, current
        events = []
        for seq, payload in found:
            event = json.loads(payload)
            event.pop("_for_readers_of", None)  # a notification: only for sockets that may read it
            events.append({**event, "seq": seq, **stamp(session_id), "epoch": self.epoch})
        return events, current

    def notify_document(self, document_id: str, payload: dict[str, Any], exclude_session: str | None = None) -> int:
        try:
            watched = set(self.bus.watched(watch_key(document_id), time.time() - WATCH_SECONDS))
            if self.bus.client.exists(seq_key(document_key(document_id))):
                watched.add(document_key(document_id))
        except Exception as exc:
            log.error("notification for document %s not sent: %s", document_id, exc)
            return 0
        targets = sorted(key for key in watched if key != exclude_session)
        for key in targets:
            self.publish(key, document_id, {"type": "notification", **payload}, only=set())
        return len(targets)

    # -- across processes ----------------------------------------------------------------
    def revalidate(self, document_id: str) -> int:
        self._tell({"op": "revalidate", "document_id": document_id})
        return super().revalidate(document_id)

    def disconnect(self, match: Any, error: ViceError) -> int:
        if isinstance(match, Revocation):
            self._tell({"op": "disconnect", "match": match.to_wire(), "error": error.error_object()})
        return self._disconnect_here(match, error)

    def _disconnect_here(self, match: Any, error: ViceError) -> int:
        closed = super().disconnect(match, error)
        if closed:  # channels left without a socket here: nothing to deliver to any more
            with self._deliver_lock:
                for key in [key for key in self._delivered if not self.subscribers(key)]:
                    del self._delivered[key]
        return closed

    def drop_session(self, session_id: str) -> None:
        self.flush()  # its last events first, so none lands after its keys are gone
        try:
            seq, _ = self.bus.current(session_id)
            self.bus.forget(session_id)
        except Unavailable:
            seq = self._delivered.get(session_id, 0)
        self._tell({"op": "drop", "key": session_id, "seq": seq})
        self._drop_here(session_id, seq)

    def _drop_here(self, key: str, seq: int) -> None:
        self._delivered.pop(key, None)
        for sub in self._drop_channel(key, seq):
            self._starts.pop(sub, None)

    def set_running(self, running: Any) -> None:
        self._running = running

    def stop_elsewhere(self, session_id: str) -> bool:
        return self.bus.ask({"op": "stop", "session_id": session_id})

    def bus_state(self) -> str | None:
        return "ok" if self.bus.ping() else "unreachable"

    def close_all(self, event: dict[str, Any], timeout: float = 5.0) -> int:
        self.publisher.close()
        left = super().close_all(event, timeout)
        self.bus.close()
        return left

    def _tell(self, message: dict[str, Any]) -> None:
        """A control message to the other processes; this one has done its part already."""
        try:
            self.bus.tell(message)
        except Unavailable as err:
            log.error("%s not told to the other processes: %s", message.get("op"), err.message)

    def _on_control(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "stop":
            found = self._running(message["session_id"]) if self._running is not None else None
            if found is not None:
                found.cancel.set()
            self.bus.answer(message, found is not None)
            return
        if message.get("origin") == self.bus.origin:
            return
        if op == "revalidate":
            # It reads files: off the listener thread, so events keep flowing meanwhile.
            threading.Thread(target=super().revalidate, args=(message["document_id"],), daemon=True).start()
        elif op == "disconnect":
            self._disconnect_here(Revocation.from_wire(message["match"]), _Remote(message["error"]))
        elif op == "drop":
            self._drop_here(message["key"], int(message.get("seq", 0)))

    def _renew(self) -> None:
        """Now and then (the listener's tick, and each subscribe): the TTL of the channels this process's sockets
        watch (an idle chat keeps its seq), and their score in their document's watch set."""
        if time.monotonic() - self._renewed < RENEW_SECONDS:
            return
        self._renewed = time.monotonic()
        with self._lock:
            watched = [(key, ch.document_id) for key, ch in self._channels.items() if ch.subscribers]
        now = time.time()
        try:
            self.bus.keep([k for key, _ in watched for k in (seq_key(key), stream_key(key))])
            for key, document_id in watched:
                if (into := watch_set(key, document_id)) is not None:
                    self.bus.watch(into, {key: now}, WATCH_SECONDS)
        except Unavailable:
            pass
