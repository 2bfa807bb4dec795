"""The publisher thread of a `RedisHub`: numbers this process's events in Redis, many per round trip.

`RedisHub.publish` only encodes the event and queues it here, so the thread
that generates a reply never waits for Redis. One thread per process takes
everything queued and sends it in one pipeline (one `EVALSHA` of the publish
script per event, `redis_bus.py`): Redis still numbers each event atomically,
in the order they were queued, so a session's events (queued by its one
generating thread) keep their order. Once numbered, the events go at once to
this process's own sockets (`deliver`), without waiting for their echo on
pub/sub; the echo is then skipped as already delivered, and the other processes
get the events from pub/sub as before.

If Redis cannot be reached the batch is logged and dropped, as `publish` did
when it waited: the replies are saved anyway, and the tabs catch up with `sync`.
`flush` waits until everything queued so far is numbered (a deleted chat's last
events before its keys go, a clean shutdown).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Unavailable
from .lag import Lag
from .redis_bus import RedisBus

log = logging.getLogger(__name__)

# Most events one pipeline carries.
BATCH = 256


@dataclass
class Outgoing:
    """One queued event: its channel, its JSON for Redis, the event itself, and what `publish` returned."""

    key: str
    payload: str
    event: dict[str, Any]
    returned: dict[str, Any] = field(default_factory=dict)


class Publisher:
    """One thread numbering queued events in Redis and handing them, numbered, to `deliver`."""

    def __init__(self, bus: RedisBus, deliver: Callable[[Outgoing, int, str], None]) -> None:
        self.bus = bus
        self.deliver = deliver
        self._items: deque[Outgoing] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._waiting = False
        self._queued = 0  # events ever queued
        self._done = 0  # events ever numbered (or dropped)
        self._closed = False
        self.lag = Lag()
        self._thread = threading.Thread(target=self._run, name="redis-publisher", daemon=True)
        self._thread.start()

    def put(self, item: Outgoing) -> None:
        with self._cond:
            if not self._closed:
                self._items.append(item)
                self._queued += 1
                if self._waiting:
                    self._cond.notify_all()
                return
        self._send([item])  # closing: sent by the caller's thread

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event queued before this call is numbered; False if time ran out."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target or not self._thread.is_alive(), timeout)

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._waiting = True
                    self.lag.waiting()
                    self._cond.wait()
                    self._waiting = False
                if not self._items and self._closed:
                    return
                batch = [self._items.popleft() for _ in range(min(BATCH, len(self._items)))]
            try:
                self._send(batch)
            except Exception:  # the thread must go on: the next events still need numbers
                log.exception("events could not be published")
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def _send(self, batch: list[Outgoing]) -> None:
        self.lag.waiting()  # for Redis: what the gate's holders cannot speed up
        try:
            numbered = self.bus.publish_many([(item.key, item.payload) for item in batch])
        except Unavailable as err:
            log.error("%d events not sent: %s", len(batch), err.message)
            return
        self.lag.woke()
        for item, (seq, epoch) in zip(batch, numbered, strict=True):
            item.returned.update({"seq": seq, "epoch": epoch})
            self.deliver(item, seq, epoch)
