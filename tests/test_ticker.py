"""live/ticker.py: the lazily started thread behind the cancel watcher (llm/cutting.py) and the delta flusher
(chat/streaming.py): started by a wake, gone when idle, never losing a wake."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from vice_ai.live.ticker import Ticker


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class _Queue:
    """Work items taken by the ticker's step, recording the thread of each step."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[int] = []
        self.taken: list[int] = []
        self.threads: set[threading.Thread] = set()

    def put(self, item: int, ticker: Ticker) -> None:
        with self.lock:
            self.items.append(item)
        ticker.wake()

    def step(self) -> bool:
        self.threads.add(threading.current_thread())
        with self.lock:
            self.taken += self.items
            self.items.clear()
        return False


def test_a_wake_starts_the_thread_which_ends_when_idle_and_the_next_wake_starts_another() -> None:
    work = _Queue()
    ticker = Ticker("test-ticker", 0.01, work.step)
    assert not ticker.running
    work.put(1, ticker)
    assert _until(lambda: work.taken == [1] and not ticker.running), (work.taken, ticker.running)
    work.put(2, ticker)
    assert _until(lambda: work.taken == [1, 2] and not ticker.running), (work.taken, ticker.running)
    assert len(work.threads) == 2  # a thread for each burst of work


def test_the_thread_goes_on_while_the_step_says_there_is_more() -> None:
    left = [3]

    def step() -> bool:
        left[0] -= 1
        return left[0] > 0

    ticker = Ticker("test-ticker", 0.01, step)
    ticker.wake()
    assert _until(lambda: not ticker.running) and left == [0]


def test_a_wake_during_a_step_that_found_nothing_more_gets_another_step() -> None:
    work = _Queue()
    inside, release = threading.Event(), threading.Event()

    def step() -> bool:
        more = work.step()
        if not inside.is_set():
            inside.set()
            release.wait(10)
        return more  # False: nothing more that this step saw

    ticker = Ticker("test-ticker", 0.01, step)
    work.put(1, ticker)
    assert inside.wait(10)
    work.put(2, ticker)  # after the step took its items, before it says there is nothing more
    release.set()
    assert _until(lambda: work.taken == [1, 2], timeout=3), work.taken
    assert _until(lambda: not ticker.running)


def test_no_wake_is_lost_to_a_thread_that_is_ending() -> None:
    work = _Queue()
    ticker = Ticker("test-ticker", 0.0, work.step)  # no pause: the thread ends and restarts as often as it can
    count, senders = 300, 4

    def send(first: int) -> None:
        for i in range(first, count * senders, senders):
            work.put(i, ticker)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _until(lambda: len(work.taken) == count * senders and not ticker.running), (
        f"{len(work.taken)} of {count * senders} items taken, {len(work.items)} left, running={ticker.running}")
    assert sorted(work.taken) == list(range(count * senders))


def test_with_linger_none_the_thread_waits_for_the_next_wake() -> None:
    work = _Queue()
    ticker = Ticker("test-ticker", 0.01, work.step, linger=None)
    work.put(1, ticker)
    assert _until(lambda: work.taken == [1])
    work.put(2, ticker)
    assert _until(lambda: work.taken == [1, 2])
    assert ticker.running and len(work.threads) == 1


def test_a_failing_step_is_logged_and_the_next_wake_starts_a_new_thread(caplog) -> None:
    calls = []

    def step() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return False

    ticker = Ticker("test-ticker", 0.01, step)
    ticker.wake()
    assert _until(lambda: not ticker.running and len(calls) == 1)
    assert "test-ticker: a step failed" in caplog.text
    ticker.wake()
    assert _until(lambda: len(calls) == 2 and not ticker.running)
