"""Archiving of inactive chat sessions, never deletion.

A session untouched for longer than ARCHIVE_AFTER_DAYS is flagged `archived`:
lists hide it unless asked (`?archived=1`), it stays readable, and writing to
it again brings it back. A background thread does this now and then (its
first pass waits a little, so a starting server answers its first requests
first); admins can run a pass at once with POST /api/admin/archive.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..domain.models import now, parse_time
from ..errors import NotFound

if TYPE_CHECKING:
    from ..chat.engine import ChatEngine
    from ..domain.state import AppState

log = logging.getLogger(__name__)


def _file_age_seconds(state: AppState, session_id: str) -> float | None:
    """Seconds since a session's files last changed (cheap: no parsing), or None if gone."""
    base = os.path.join(state.store.root, "sessions", session_id)
    newest = None
    for suffix in (".json", ".journal"):
        try:
            mtime = os.stat(base + suffix).st_mtime
        except FileNotFoundError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else time.time() - newest


def archive_inactive(state: AppState, days: float, busy: set[str] | None = None) -> list[str]:
    """Archive every session inactive for more than `days` days; returns the ids archived now."""
    if days <= 0:
        return []
    cutoff = datetime.now(UTC) - timedelta(days=days)
    archived = []
    for session_id in state.store.ids("sessions"):
        age = _file_age_seconds(state, session_id)
        if age is None or age < days * 86400:
            continue  # changed recently on disk: active, and not worth reading
        if busy and session_id in busy:
            continue
        session = state.get_chat_session(session_id)
        if session is None or session.archived or parse_time(session.updated_at) > cutoff:
            continue
        try:
            with state.edit_session(session_id) as writer:
                if writer.session.archived or parse_time(writer.session.updated_at) > cutoff:
                    continue
                writer.set(archived=True, archived_at=now())
        except NotFound:
            continue
        archived.append(session_id)
    if archived:
        log.info("archived %d chat session(s) inactive for more than %g days", len(archived), days)
    return archived


class Archiver:
    """The background job: a pass after a short delay, then one every interval, until stopped."""

    def __init__(self, state: AppState, engine: ChatEngine, cfg: Mapping[str, Any]) -> None:
        self.state = state
        self.engine = engine
        self.days = float(cfg["ARCHIVE_AFTER_DAYS"])
        self.interval = float(cfg["ARCHIVE_INTERVAL"])
        self.first_delay = float(cfg["ARCHIVE_FIRST_DELAY"])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[str]:
        """One pass now (also what the admin endpoint calls)."""
        busy = {sid for sid in self.state.store.ids("sessions") if self.engine.running(sid) is not None}
        return archive_inactive(self.state, self.days, busy)

    @property
    def running(self) -> bool:
        """True while the job's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.days <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="archiver", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        delay = self.first_delay
        while not self._stop.wait(delay):
            try:
                self.run_once()
            except Exception:  # a bad pass must not end the job; the next one tries again
                log.exception("archiving inactive chat sessions failed")
            delay = self.interval

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the job and wait for it (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
