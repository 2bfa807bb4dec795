"""Threads for the engine's rounds, reused: a round runs in a thread that has just finished one, when there is one.

Each round holds its thread for its whole reply (the model call blocks), so
the pool is unbounded: a round never waits for a thread. What it saves is
starting and ending a thread per reply (the OS thread, its stack, Python's
bootstrap). A thread idle for `IDLE_SECONDS` ends. Each task runs in a fresh
`contextvars.Context` and the thread is named after it, as a new thread would be.
"""
from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0
_IDLE_NAME = "chat-idle"

Task = tuple[Callable[[], None], str, threading.Event]


class Workers:
    """`run(fn, name)`: call `fn` in a daemon thread (an idle one if any); returns an Event set when it returned."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._tasks: queue.SimpleQueue[Task] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a task (each task put on the queue claims one)

    def run(self, fn: Callable[[], None], name: str) -> threading.Event:
        ended = threading.Event()
        task = (fn, name, ended)
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._tasks.put(task)  # under the lock: an idle thread that times out finds it (see _loop)
                return ended
        threading.Thread(target=self._loop, args=(task,), name=name, daemon=True).start()
        return ended

    def idle(self) -> int:
        return self._idle

    def _loop(self, task: Task) -> None:
        me = threading.current_thread()
        while True:
            fn, me.name, ended = task
            try:
                contextvars.Context().run(fn)
            except BaseException:  # the round logs its own failures; never let one end the thread silently
                log.exception("a chat worker's task failed")
            finally:
                ended.set()
            me.name = _IDLE_NAME
            with self._lock:
                self._idle += 1
            try:
                task = self._tasks.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody claimed this thread: it ends
                        self._idle -= 1
                        return
                task = self._tasks.get()  # claimed as it timed out: the task is on the queue already
