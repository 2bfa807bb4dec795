"""Whether a thread on the tokens' way (the model-streams reactor, Redis's publisher and listener) is behind.

Such a thread loops: it waits (for bytes, for queued events), then works on
what came. It counts as behind while one round of work has lasted more than
BEHIND_SECONDS: many events at once, or waiting for the GIL behind other
threads. The engine's gate (`chat/gate.py`) lets it catch up before another
chat starts or finishes its CPU-bound part.
"""
from __future__ import annotations

import time

BEHIND_SECONDS = 0.002


class Lag:
    """The marks one looping thread leaves: `waiting()` before it waits, `woke()` after."""

    __slots__ = ("_woke",)

    def __init__(self) -> None:
        self._woke: float | None = None  # when the current round of work began; None while waiting

    def waiting(self) -> None:
        self._woke = None

    def woke(self) -> None:
        self._woke = time.monotonic()

    def behind(self, lag: float = BEHIND_SECONDS) -> bool:
        woke = self._woke
        return woke is not None and time.monotonic() - woke > lag
