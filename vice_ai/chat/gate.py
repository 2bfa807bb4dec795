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
streaming. Take the gate holding no other lock: no holder of a lock then ever
waits for the gate, so it cannot close a cycle of waits.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS = 2


class Gate:
    """A counting gate around the CPU-bound parts of a round."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._slots = threading.BoundedSemaphore(slots)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block."""
        self._slots.acquire()
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
            self._slots.acquire()
