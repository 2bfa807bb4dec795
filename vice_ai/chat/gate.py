"""How many chats do their own work at once (starting and finishing a reply), so streaming replies keep pace.

Every streaming reply's tokens are passed on by one thread (`llm/reactor.py`).
Under the GIL a thread that wants to run waits its turn behind every other
thread that wants to run, up to 5 ms each (`sys.getswitchinterval()`). When
hundreds of chats start or finish in the same second (each: saving the
question, building the prompt, sending the request; then the final save and
render), hundreds of threads want to run, and the reactor's thread waited
behind all of them: a token could arrive a second late in every open tab.

The gate lets SLOTS chats (and sockets opening: subscribe, hello) do that work
at a time. The others wait on the gate, asleep, not wanting the GIL; a reply
waiting for its model releases its slot. Measured with 200 paced streams: 1 or
2 slots halved the added p99 against no gate, 4 slots less (round 3 of
docs/benchmarks/streaming.md).
So the reactor waits behind a few threads at most, and the cost is paid by the
chats that start in a burst (a little later) instead of by the replies already
streaming.

A chat taking a slot also lets the tokens' threads go first: while the reactor
(or, with Redis, the publisher or listener) is behind (`live/lag.py`: a round of
work over 2 ms, many tokens at once or a wait for the GIL), the new holder
sleeps until it is not, at most YIELD_SECONDS. With 200 paced streams and the
app on a core of its own, the added p99 went from 43-83 ms to 12-16 ms
(docs/benchmarks/streaming.md, round 5).

Take the gate holding no other lock: no holder of a lock then ever waits for
the gate, so it cannot close a cycle of waits.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SLOTS = 2
# A chat taking a slot while a thread passing tokens on is behind waits for it, polling, at most this long.
YIELD_SECONDS = 0.02
YIELD_POLL = 0.001


class Gate:
    """A counting gate around the CPU-bound parts of a round."""

    def __init__(self, slots: int = SLOTS, behind: Callable[[], bool] | None = None) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._behind = behind  # whether the tokens' threads are behind: a new holder waits for them a little

    def _take(self) -> None:
        self._slots.acquire()
        if self._behind is not None and self._behind():
            deadline = time.monotonic() + YIELD_SECONDS
            while self._behind() and time.monotonic() < deadline:
                time.sleep(YIELD_POLL)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block."""
        self._take()
        try:
            yield
        finally:
            self._slots.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Give the slot back for the block (a wait for the model), and take one again after it."""
        self._slots.release()
        try:
            yield
        finally:
            self._take()
