"""A daemon thread started on first use that does a step of work every `period` seconds while there is some.

`wake()` says there is work, starting the thread if there is none. The thread
sleeps `period`, runs `step`, and goes on while `step` says more is to do
(True) or a wake came meanwhile; then it waits up to `linger` seconds (None:
for ever) for the next wake, and ends if none came: the next `wake()` starts a
new one. Whether it ends is decided under the lock `wake()` takes, so a wake
is never lost to a thread that is just ending.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Ticker:
    """One daemon thread running `step` every `period` seconds from a `wake()` until there is nothing to do."""

    def __init__(self, name: str, period: float, step: Callable[[], bool], linger: float | None = 0.0) -> None:
        self.name, self.period, self.step, self.linger = name, period, step, linger
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._woken = False

    def wake(self) -> None:
        """There is work: the thread takes it at its next step (started if there is none)."""
        with self._cond:
            self._woken = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify()

    @property
    def running(self) -> bool:
        """Whether the thread is there now (tests)."""
        return self._thread is not None

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            with self._cond:
                self._woken = False
            try:
                more = self.step()
            except Exception:  # logged; then as when there is nothing more to do
                log.exception("%s: a step failed", self.name)
                more = False
            with self._cond:
                if not more and not self._cond.wait_for(lambda: self._woken, self.linger):
                    self._thread = None
                    return
