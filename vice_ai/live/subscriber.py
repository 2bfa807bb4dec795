"""A socket's queue of hub events: delivered in batches, deltas merged when the socket falls behind.

Every subscriber of a channel gets the same `Event` object, which encodes its
JSON once for all of them. A queue wakes its writer only when the writer is
waiting (a burst costs one wake-up, not one per event), and hands it everything
queued at once. When the queue backs up (MERGE_BACKLOG events waiting: the
socket is behind) and a `delta` is queued right behind a delta of the same reply,
the two become one event: the text of both, the seq of the last, and `first_seq`, the seq of the
first delta it covers. So a client that applies events in seq order treats a
merged delta as the events `first_seq`..`seq`, and resuming after its `seq`
loses and repeats nothing.
"""
from __future__ import annotations

import json
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

# Queued events from which a socket counts as behind: its deltas are merged from then on.
MERGE_BACKLOG = 64


class Event(dict[str, Any]):
    """A published event; its JSON text is made once, by the first socket that sends it."""

    __slots__ = ("_text",)

    def text(self) -> str:
        try:
            return self._text
        except AttributeError:
            self._text: str = json.dumps(self, ensure_ascii=False)
            return self._text


def encode(event: dict[str, Any]) -> str:
    return event.text() if isinstance(event, Event) else json.dumps(event, ensure_ascii=False)


class _Merged:
    """Consecutive deltas of one reply, waiting in one queue slot; the text is joined when the writer takes it."""

    __slots__ = ("first", "parts", "last")

    def __init__(self, first: dict[str, Any], second: dict[str, Any]) -> None:
        self.first, self.parts, self.last = first, [first["text"], second["text"]], second

    def add(self, event: dict[str, Any]) -> None:
        self.parts.append(event["text"])
        self.last = event

    def event(self) -> dict[str, Any]:
        merged = {**self.last, "text": "".join(self.parts), "first_seq": self.first.get("first_seq",
                                                                                     self.first["seq"])}
        if "html" not in self.last:
            merged.pop("html", None)  # an earlier render covers only part of the text: the client renders
        return merged


def _follows(last: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether `event` is the delta right after `last`, of the same reply (a merge keeps every seq covered)."""
    return (last.get("type") == "delta" and not last.get("local") and not event.get("local")
            and last.get("message_id") == event.get("message_id") and last.get("epoch") == event.get("epoch")
            and isinstance(last.get("seq"), int) and event.get("seq") == last["seq"] + 1)


class Unsent(bytes):
    """The part of an event's frame that could not be written at once: the writer writes it next."""

    __slots__ = ()


# Writes an event to the socket at once without blocking: None when it cannot (the writer sends it), else what
# is left of its frame (b"": all of it went out).
Direct = Callable[[dict[str, Any]], "bytes | None"]


class EventQueue:
    """A bounded queue of events (None: the end) with batched takes and delta merging.

    With `direct` set, an event put while the writer waits on an empty queue is
    written by the putting thread itself, without blocking (the writer stays
    asleep: one thread wake-up per event saved). Whatever does not fit goes on
    the queue as `Unsent`, ahead of anything later, so the order never changes.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._waiting = False
        self.merged = 0  # deltas folded into the one before them
        self.direct: Direct | None = None

    def put_nowait(self, event: dict[str, Any] | None) -> None:
        with self._cond:
            items = self._items
            if self._waiting and not items and event is not None and self.direct is not None:
                rest = self.direct(event)  # under the lock: the writer cannot start meanwhile
                if rest is not None:
                    if not rest:
                        return
                    items.append(Unsent(rest))
                    self._cond.notify()
                    return
            if len(items) >= MERGE_BACKLOG and event is not None and event.get("type") == "delta":
                tail = items[-1]
                if isinstance(tail, _Merged) and _follows(tail.last, event):
                    tail.add(event)
                    self.merged += 1
                    return
                if isinstance(tail, dict) and _follows(tail, event):
                    items[-1] = _Merged(tail, event)
                    self.merged += 1
                    return
            if len(items) >= self.maxsize:
                raise queue.Full
            items.append(event)
            if self._waiting:
                self._cond.notify()

    def take(self, limit: int, timeout: float) -> list[dict[str, Any] | None]:
        """Up to `limit` queued events (waiting up to `timeout` for the first); [] when none came."""
        with self._cond:
            if not self._items:
                self._waiting = True
                try:
                    self._cond.wait(timeout)
                finally:
                    self._waiting = False
            items = self._items
            batch = [items.popleft() for _ in range(min(limit, len(items)))]
        return [item.event() if isinstance(item, _Merged) else item for item in batch]

    def get_nowait(self) -> dict[str, Any] | None:
        got = self.take(1, 0)
        if not got:
            raise queue.Empty
        return got[0]

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        got = self.take(1, 3600.0 if timeout is None else timeout)
        if not got:
            raise queue.Empty
        return got[0]

    def qsize(self) -> int:
        return len(self._items)


class QueueSubscriber:
    """A subscriber backed by a bounded queue; overflow marks it so its socket can close."""

    def __init__(self, user: Any = None, maxsize: int = 10_000, credential: Any = None) -> None:
        self.user = user
        # The sign-in the socket was opened with (password mode), so ending it can close the socket.
        self.credential = credential
        self.queue = EventQueue(maxsize)
        self.overflowed = False

    def put(self, event: dict[str, Any] | None) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True
