"""The engine's reusable round threads (vice_ai/chat/workers.py)."""
from __future__ import annotations

import contextvars
import threading
import time

from vice_ai.chat.workers import Workers

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def test_a_finished_thread_runs_the_next_task_under_its_name() -> None:
    workers = Workers()
    seen: list[tuple[int, str]] = []

    def task() -> None:
        seen.append((threading.get_ident(), threading.current_thread().name))

    for n in range(5):
        assert workers.run(task, f"chat-{n}").wait(5)
        deadline = time.monotonic() + 5
        while workers.idle() == 0 and time.monotonic() < deadline:
            time.sleep(0.001)  # the thread counts itself idle just after the task's event
    assert len({ident for ident, _ in seen}) == 1
    assert [name for _, name in seen] == [f"chat-{n}" for n in range(5)]


def test_tasks_never_wait_for_a_thread() -> None:
    workers = Workers()
    release = threading.Event()
    started = []
    ends = [workers.run(lambda: (started.append(1), release.wait(5)), f"chat-{n}") for n in range(20)]
    deadline = time.monotonic() + 5
    while len(started) < 20 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(started) == 20  # all running at once
    release.set()
    assert all(end.wait(5) for end in ends)


def test_idle_threads_end() -> None:
    workers = Workers(idle_seconds=0.05)
    release = threading.Event()
    threads: list[threading.Thread] = []

    def task() -> None:
        threads.append(threading.current_thread())
        release.wait(5)

    ends = [workers.run(task, f"chat-x{n}") for n in range(3)]
    release.set()
    assert all(end.wait(5) for end in ends)
    for thread in threads:
        thread.join(5)
    assert len(threads) == 3 and not any(t.is_alive() for t in threads)
    assert workers.idle() == 0


def test_a_failing_task_leaves_the_thread_usable_and_context_is_fresh() -> None:
    workers = Workers()
    values: list[str] = []

    def fails() -> None:
        VAR.set("leaked")
        raise RuntimeError("boom")

    assert workers.run(fails, "chat-a").wait(5)
    time.sleep(0.05)
    assert workers.run(lambda: values.append(VAR.get()), "chat-b").wait(5)
    assert values == ["unset"]
