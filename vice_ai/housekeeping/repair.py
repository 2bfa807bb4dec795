"""What a crash can leave on disk, put right when the app starts (in a background thread).

- A reply left `streaming` by a process that died mid-reply: marked
  `interrupted` (with its reason) through the engine's `recover`, so exports and
  statistics never show it streaming, whether or not anyone opens the chat.
  `recover` only touches a reply under its chat's lease, so never one a live
  process is writing. With Redis the pass then goes on, every few seconds
  (`sweep`): a process that dies mid-reply leaves its lease to expire, and the
  next sweep of any process marks that reply interrupted and tells its tabs.
- A change of two files cut in the middle (a session and the document that
  lists it): `AppState` writes them in an order whose leftovers read as absent
  (a listed id with no file; a session file no section lists); this pass
  removes them: listed ids with no file are unlisted, unlisted session files
  deleted. Each is checked again under the document's locks before it changes,
  so sessions being created or deleted meanwhile are left alone.

Files in quarantine are not leftovers: a document's ids of quarantined sessions
stay listed, sessions of a quarantined document stay.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..domain.state import AppState

log = logging.getLogger(__name__)
T = TypeVar("T")


def repair(state: AppState, recover: Callable[[str], int], stop: threading.Event | None = None) -> dict[str, int]:
    """One pass over every document and session; returns what it changed (by kind)."""
    done = {"unlisted": 0, "orphans": 0, "interrupted": 0}
    listed: set[str] = set()
    for doc_id in state.store.ids("documents"):
        if stop is not None and stop.is_set():
            return done
        done["unlisted"] += len(_guarded(state.repair_document, doc_id) or [])
        doc = state.get_document(doc_id)
        if doc is not None:
            listed.update(sid for section in doc.sections for sid in section.session_ids)
    for session_id in state.store.ids("sessions"):
        if stop is not None and stop.is_set():
            return done
        if session_id not in listed and _guarded(state.drop_if_orphan, session_id):
            done["orphans"] += 1
            continue
        session = _guarded(state.peek_session, session_id)
        if session is not None and any(m.status == "streaming" for m in session.messages):
            done["interrupted"] += _guarded(recover, session_id) or 0
    if any(done.values()):
        log.warning("repaired what a stopped server left: %d listed chat(s) with no file unlisted, "
                    "%d unlisted chat file(s) deleted, %d streaming repl(ies) marked interrupted",
                    done["unlisted"], done["orphans"], done["interrupted"])
    return done


def _guarded(step: Callable[[str], T], item_id: str) -> T | None:
    """One item's repair; a failure is logged and the pass goes on with the next one."""
    try:
        return step(item_id)
    except Exception:
        log.exception("repair of %s failed", item_id)
        return None


SWEEP_SECONDS = 5.0


class Repairer:
    """Runs `repair` once in a background thread, so the server answers at once, then `sweep` every
    `sweep_every` seconds if given (Redis: chats whose generating process died); stoppable."""

    def __init__(self, state: AppState, recover: Callable[[str], int], sweep: Callable[[], int] | None = None,
                 sweep_every: float = SWEEP_SECONDS) -> None:
        self.state, self.recover, self.sweep, self.sweep_every = state, recover, sweep, sweep_every
        self._stop = threading.Event()
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="repair", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            repair(self.state, self.recover, self._stop)
        except Exception:
            log.exception("the repair pass failed")
        finally:
            self.finished.set()
        while self.sweep is not None and not self._stop.wait(self.sweep_every):
            try:
                self.sweep()
            except Exception:
                log.exception("the sweep for interrupted replies failed")

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
