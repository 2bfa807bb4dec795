"""Reading what a hub delivered to a socket's queue (`QueueSubscriber`), for the hub tests."""
from __future__ import annotations

import time

from vice_ai.live.subscriber import QueueSubscriber


def drain(sub: QueueSubscriber, count: int, timeout: float = 5.0) -> list:
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        try:
            got.append(sub.queue.get(timeout=0.1))
        except Exception:
            pass
    return got


def drain_until(sub: QueueSubscriber, last_seq: int, timeout: float = 5.0) -> list:
    """Events until the one numbered `last_seq` (merged deltas count for every seq they cover)."""
    got, deadline = [], time.monotonic() + timeout
    while (not got or got[-1]["seq"] < last_seq) and time.monotonic() < deadline:
        got += drain(sub, 1, timeout=0.2)
    return got
