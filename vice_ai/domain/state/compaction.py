"""Folding a journal into a new snapshot without stalling the appends: one background thread per `AppState`.

A compaction takes a consistent view under the resource's locks (a list of
references: cheap), encodes and writes the new snapshot to a fsynced temp file
without them, then under the locks again checks that no other snapshot was
written meanwhile (the lock file's snapshot counter), renames the temp file in
and replaces the journal by the records appended since the view (or empties
it). A crash anywhere leaves the old snapshot with the whole journal, or the
new one (which names the last record it holds) with the whole journal or just
the records after it: every record counts once. A small resource (below
`inline_bytes`) is compacted at once, under the lock, as it costs little.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Compactor:
    """One thread running queued compactions, started when needed, gone after `idle` seconds of nothing to do."""

    def __init__(self, run: Callable[[str, str], object], idle: float = 2.0) -> None:
        self._run = run
        self._idle = idle
        self._cond = threading.Condition()
        self._pending: dict[tuple[str, str], None] = {}
        self._thread: threading.Thread | None = None
        self._busy = False
        self._closed = False

    def request(self, kind: str, item_id: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending[(kind, item_id)] = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="vice-ai-compactor", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    if not self._cond.wait(self._idle) and not self._pending:
                        break
                if self._closed or not self._pending:
                    self._thread = None
                    self._cond.notify_all()
                    return
                key = next(iter(self._pending))
                del self._pending[key]
                self._busy = True
            try:
                self._run(*key)
            except Exception:  # the records are durable in the journal: a later append asks again
                log.warning("could not compact %s %s (will retry)", key[0][:-1], key[1], exc_info=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    @property
    def busy(self) -> bool:
        """A compaction is under way."""
        return self._busy

    def close(self, timeout: float = 5.0) -> None:
        """Finish the compaction under way, drop the queue (the journals keep everything), stop the thread."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
