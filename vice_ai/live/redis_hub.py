"""The hub when `REDIS_URL` is set: the same public methods, every process of the app on one set of channels.

`RedisHub` keeps `Hub`'s local table of sockets (subscribers) per channel and
its access checks (`set_access`: each process checks its own sockets), and moves
what must be shared to Redis (`redis_bus.py`):

- `publish` numbers the event in Redis; it reaches this process's sockets, like
  every other process's, through the listener thread (`_on_event`), in seq
  order. Each channel remembers the last seq it delivered here: a seq that
  skips ahead (a message lost while the listener reconnected) is filled from the
  Stream first, so a socket never sees a gap; one the Stream no longer has ends
  its sockets (they reconnect and `resume`, or get `sync`).
- `subscribe` answers Redis's seq (and epoch); events at or below it that were
  still on their way are not delivered to that socket (it starts after them).
- `since` reads the Stream: a tab that saw seq 40 on process A resumes on B with 41...
- `notify_document` reaches every session of the document watched in any
  process (a set in Redis); each process delivers it only to the sockets whose
  user may see the document.
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
from typing import Any

from ..errors import Unavailable, ViceError
from .hub import DOCUMENT, Hub, Subscriber, document_key, stamp
from .redis_bus import PREFIX, RedisBus, seq_key, stream_key
from .revocation import Revocation

log = logging.getLogger(__name__)

# How often the keys of channels this process's sockets watch get their TTL renewed.
RENEW_SECONDS = 600.0


def watch_key(document_id: str) -> str:
    """The set of a document's channels some socket (in any process) watches."""
    return f"{PREFIX}watch:{document_id}"


class _Remote(ViceError):
    """An error told by another process: its code and message as they were."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", "")))
        self._object = error

    def error_object(self) -> dict[str, Any]:
        return dict(self._object)


class RedisHub(Hub):
    """A hub whose channels are shared by every process on the same Redis."""

    def __init__(self, url: str, buffer_size: int = 2000, ttl: int | None = None, total_events: int = 100_000) -> None:
        super().__init__(buffer_size, total_events=total_events)
        self.bus = RedisBus(url, maxlen=buffer_size, **({"ttl": ttl} if ttl else {}))
        try:
            self.epoch = self.bus.epoch(self.epoch)
        except Unavailable:
            log.error("Redis is not reachable at start: live events between processes wait for it")
        # The last seq delivered here, per channel; and each new socket's start (events up to it are not its).
        self._delivered: dict[str, int] = {}
        self._starts: dict[Subscriber, int] = {}
        # Taken by the listener for each event and by `subscribe` while it reads the seq: a socket
        # joins between two events, never in the middle of one.
        self._deliver_lock = threading.Lock()
        self._running: Any = None
        self._renewed = time.monotonic()
        self.bus.on_event = self._on_event
        self.bus.on_control = self._on_control
        self.bus.on_reconnect = self._catch_up
        self.bus.start()

    # -- events --------------------------------------------------------------------------
    def publish(self, session_id: str, document_id: str, event: dict[str, Any],
                only: set[Subscriber] | None = None) -> dict[str, Any]:
        wire = dict(event)
        if only is not None:  # each process checks its own sockets' access (`notify_document`)
            wire["_for_readers_of"] = document_id
        try:
            seq, epoch = self.bus.publish(session_id, json.dumps(wire, ensure_ascii=False))
        except Unavailable as err:
            log.error("event of %s not sent: %s", session_id, err.message)
            return {**event, "seq": 0, **stamp(session_id), "epoch": self.epoch}
        self.epoch = epoch
        return {**event, "seq": seq, **stamp(session_id), "epoch": epoch}

    def publish_document(self, document_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        # The feed publishes only for documents some socket watches (redis_feed.py).
        return self.publish(document_key(document_id), document_id, event)

    def _on_event(self, key: str, seq: int, epoch: str, payload: str) -> None:
        """One event from Redis (the listener thread): to this process's sockets on its channel."""
        channel = self._channels.get(key)
        if channel is None:
            return
        with self._deliver_lock:
            last = self._delivered.get(key)
            if last is None:
                return  # no socket here
            if seq <= last:
                return  # already delivered (filled in from the Stream), or before its sockets came
            if seq > last + 1 and not self._fill(key, last, seq):
                return
            self._deliver(key, seq, epoch, payload)

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

    def _deliver(self, key: str, seq: int, epoch: str, payload: str) -> None:
        self._delivered[key] = seq
        channel = self._channels.get(key)
        if channel is None:
            return
        with channel.lock:
            subs = [sub for sub in channel.subscribers if self._starts.get(sub, 0) < seq]
        if not subs:
            return
        event = json.loads(payload)
        readers_of = event.pop("_for_readers_of", None)
        if readers_of is not None:
            allowed = self._allowed(subs, readers_of)
            subs = [sub for sub in subs if sub in allowed]
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
            if not session_id.startswith(DOCUMENT):
                self.bus.add_to_set(watch_key(document_id), session_id)
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
            watched = {str(key) for key in self.bus.client.smembers(watch_key(document_id))}
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
        return super().disconnect(match, error)

    def drop_session(self, session_id: str) -> None:
        try:
            seq, _ = self.bus.current(session_id)
            self.bus.forget(session_id)
        except Unavailable:
            seq = self._delivered.get(session_id, 0)
        self._tell({"op": "drop", "key": session_id, "seq": seq})
        self._drop_here(session_id, seq)

    def _drop_here(self, key: str, seq: int) -> None:
        with self._lock:
            channel = self._channels.pop(key, None)
        self._delivered.pop(key, None)
        if channel:
            with channel.lock:
                subs = list(channel.subscribers)
            for sub in subs:
                sub.put({"type": "deleted", **stamp(key), "seq": seq + 1, "epoch": self.epoch})

    def set_running(self, running: Any) -> None:
        self._running = running

    def stop_elsewhere(self, session_id: str) -> bool:
        return self.bus.ask({"op": "stop", "session_id": session_id})

    def bus_state(self) -> str | None:
        return "ok" if self.bus.ping() else "unreachable"

    def close_all(self, event: dict[str, Any], timeout: float = 5.0) -> int:
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
            super().disconnect(Revocation.from_wire(message["match"]), _Remote(message["error"]))
        elif op == "drop":
            self._drop_here(message["key"], int(message.get("seq", 0)))

    def _renew(self) -> None:
        """Now and then: the TTL of the channels this process's sockets watch (an idle chat keeps its seq)."""
        if time.monotonic() - self._renewed < RENEW_SECONDS:
            return
        self._renewed = time.monotonic()
        with self._lock:
            keys = [key for key, ch in self._channels.items() if ch.subscribers]
        try:
            self.bus.keep([k for key in keys for k in (seq_key(key), stream_key(key))])
        except Unavailable:
            pass
