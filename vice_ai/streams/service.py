"""Notification streams: background workers that keep watching a goal and notify the user.

A stream belongs to a chat session. Every interval it runs a short
sub-conversation (the session so far plus the goal) with only the read-only
document tools, `send_notification` and `stop_notification_stream`, and
delivers notifications to the session's sockets and, as toasts, to the rest of
the document's. Definitions are saved in the session and listed in a small
index file, so active streams start again after a restart.

Each stream runs in the one process that holds its lease ("stream", id): a
process starts the listed streams whose lease it gets, and looks again every
`TAKEOVER_SECONDS` (`watch`), so a stream whose process died (its lease freed by
the OS, or expired in Redis) is taken over. A stream stopped from another
process is marked stopped in its chat's file; its runner sees that before its
next check and ends.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..chat.context import build_messages
from ..chat.toolloop import run_tool_loop
from ..coordination.leases import Lease, Leases, ProcessLeases
from ..domain.models import ChatSession, new_id, now, parse_time
from ..errors import ModelError
from ..housekeeping.redaction import redact
from ..llm.base import ChatRequest
from ..storage.metafiles import read_meta, update_meta
from ..tools import ToolContext, ToolError, ToolRegistry
from ..tools.builtin import READ_ONLY, STREAM_TOOLS
from ..tools.calls import collect

if TYPE_CHECKING:
    from ..domain.state import AppState
    from ..live.hub import Hub
    from ..llm import LLMService

log = logging.getLogger(__name__)

INDEX = "streams"
# How often each process looks for listed streams nobody runs (their process died) and takes them over.
TAKEOVER_SECONDS = 5.0
# Tool rounds per check (then one more that must answer in text).
MAX_TOOL_ROUNDS = 3
STREAM_PROMPT = (
    "Background check for the user (they are not reading along). Goal: {goal}\n"
    "Look at the document with the read-only tools if you need to. If there is something the goal asks "
    "you to tell, call send_notification with one short message. If the goal is fully done and needs no "
    "more checks, call stop_notification_stream with stream_id \"{stream_id}\". Otherwise answer \"nothing new\"."
)


@dataclass
class _Running:
    session_id: str
    document_id: str
    section_id: str
    record: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    lease: Lease | None = None


class NotificationStreams:
    """Starts, runs, limits and stops every notification stream of the app."""

    def __init__(self, state: AppState, llm: LLMService, hub: Hub, registry: ToolRegistry,
                 cfg: Mapping[str, Any], leases: Leases | None = None) -> None:
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._watching = threading.Event()  # set: stop watching
        self.leases = leases if leases is not None else ProcessLeases()
        self.takeover_seconds = float(cfg.get("STREAM_TAKEOVER_SECONDS", TAKEOVER_SECONDS))
        self.state, self.llm, self.hub, self.registry = state, llm, hub, registry
        self.per_session = cfg["STREAMS_PER_SESSION"]
        self.total = cfg["STREAMS_TOTAL"]
        self.min_interval = cfg["STREAM_MIN_INTERVAL"]
        self.max_lifetime = cfg["STREAM_MAX_LIFETIME"]
        self.max_failures = cfg["STREAM_MAX_FAILURES"]
        self.context_tokens = cfg["CONTEXT_TOKENS"]

    # -- lifecycle --------------------------------------------------------------------
    def start(self, ctx: ToolContext, goal: str, interval: float) -> dict[str, Any]:
        """Start a stream for the caller's session, within the limits; returns its record."""
        if interval < self.min_interval:
            raise ToolError(f"interval_seconds must be at least {self.min_interval:g}.")
        created = datetime.now(UTC)
        record: dict[str, Any] = {
            "id": new_id(), "goal": goal, "interval_seconds": float(interval), "status": "running",
            "created_at": now(), "expires_at": (created + timedelta(seconds=self.max_lifetime)).isoformat(),
            "notifications": 0, "last_notification": None, "stopped_reason": None,
        }
        with self._lock:
            if self._closed:
                raise ToolError("The server is shutting down.")
            mine = [r for r in self._running.values() if r.session_id == ctx.session_id]
            if len(mine) >= self.per_session:
                raise ToolError(f"This chat already has {len(mine)} streams running (the limit). Stop one first.")
            if len(self._running) >= self.total:
                raise ToolError("The server runs as many notification streams as it allows. Try later.")
            run = _Running(ctx.session_id, ctx.document_id, ctx.section_id, record)
            self._running[record["id"]] = run
        try:
            run.lease = self.leases.acquire("stream", record["id"])  # a new id: free unless shutting down
            if run.lease is None:
                raise ToolError("The server is shutting down.")
            self._save_record(run)
        except BaseException:
            with self._lock:
                self._running.pop(record["id"], None)
            if run.lease is not None:
                run.lease.release()
            raise
        self._spawn(run)
        return record

    def _spawn(self, run: _Running) -> None:
        if run.lease is not None:
            run.lease.on_lost(run.stop.set)  # another process runs it now
        run.thread = threading.Thread(target=self._loop, args=(run,), name=f"stream-{run.record['id'][:8]}",
                                      daemon=True)
        run.thread.start()

    def stop(self, session_id: str, stream_id: str, reason: str) -> bool:
        """Stop a running stream of a session (here or in another process) and save why; False if there is none."""
        with self._lock:
            run = self._running.get(stream_id)
            if run is None or run.session_id != session_id:
                run = None
            else:
                self._running.pop(stream_id)
        if run is None:
            return self._stop_elsewhere(session_id, stream_id, reason)
        run.stop.set()
        run.record.update(status="stopped", stopped_reason=reason)
        self._save_record(run)
        self._tell_stopped(run.session_id, run.document_id, run.section_id, stream_id, reason)
        if run.thread is not None and run.thread is not threading.current_thread():
            run.thread.join(5)
        return True

    def stop_session(self, session_id: str) -> None:
        """Stop every stream of a session that is going away (its record goes with the session)."""
        with self._lock:
            runs = [r for r in self._running.values() if r.session_id == session_id]
            for run in runs:
                self._running.pop(run.record["id"], None)
        for run in runs:
            run.stop.set()
            self._unindex(run.record["id"])
        for run in runs:
            if run.thread is not None:
                run.thread.join(5)

    def running(self, session_id: str | None = None) -> list[str]:
        with self._lock:
            return [sid for sid, r in self._running.items() if session_id is None or r.session_id == session_id]

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every thread (definitions stay 'running' on disk, so they start again next time)."""
        self._watching.set()
        with self._lock:
            self._closed = True
            runs = list(self._running.values())
            self._running.clear()
        for run in runs:
            run.stop.set()
        deadline = time.monotonic() + timeout
        for run in runs:
            if run.thread is not None:
                run.thread.join(max(0.0, deadline - time.monotonic()))

    def restore(self) -> int:
        """Start the streams the index lists as running that no process runs (whose lease we get); how many."""
        started = 0
        for stream_id, session_id in dict(read_meta(self.state.store, INDEX) or {}).items():
            with self._lock:
                if self._closed or stream_id in self._running:
                    continue
            if self._record(session_id, stream_id) is None:
                self._unindex(stream_id)
                continue
            lease = self.leases.acquire("stream", stream_id)
            if lease is None:
                continue  # another process runs it
            # Read again under the lease: it may have been stopped, or run and stopped, meanwhile.
            found = self._record(session_id, stream_id)
            with self._lock:
                if found is None or self._closed or stream_id in self._running:
                    lease.release()
                    continue
                session, record = found
                run = _Running(session.id, session.document_id, session.section_id, dict(record), lease=lease)
                self._running[stream_id] = run
            self._spawn(run)
            started += 1
        return started

    def watch(self) -> None:
        """`restore` now, then every `takeover_seconds` until shutdown (takes over streams whose process died)."""
        while True:
            try:
                self.restore()
            except Exception:
                log.exception("looking for notification streams to run failed")
            if self._watching.wait(self.takeover_seconds):
                return

    def _record(self, session_id: str, stream_id: str) -> tuple[ChatSession, dict[str, Any]] | None:
        """The session and the stream's record, if it is still running on disk."""
        session = self.state.get_chat_session(session_id)
        record = next((r for r in (session.streams if session else []) if r["id"] == stream_id), None)
        if session is None or record is None or record.get("status") != "running":
            return None
        return session, record

    def _stop_elsewhere(self, session_id: str, stream_id: str, reason: str) -> bool:
        """Mark a stream another process runs (or a dead one ran) stopped; its runner sees it before its next check."""
        if self._record(session_id, stream_id) is None:
            return False
        with self.state.edit_session(session_id) as writer:
            record = next((r for r in writer.session.streams if r["id"] == stream_id), None)
            if record is None or record.get("status") != "running":
                return False
            others = [r for r in writer.session.streams if r["id"] != stream_id]
            writer.set(streams=[*others, {**record, "status": "stopped", "stopped_reason": reason}])
            document_id, section_id = writer.session.document_id, writer.session.section_id
        self._unindex(stream_id)
        self._tell_stopped(session_id, document_id, section_id, stream_id, reason)
        return True

    def _tell_stopped(self, session_id: str, document_id: str, section_id: str, stream_id: str, reason: str) -> None:
        self.hub.publish(session_id, document_id, {
            "type": "notification", "kind": "stream_stopped", "stream_id": stream_id,
            "text": f"Notification stream stopped: {reason}.", "section_id": section_id})

    # -- persistence ------------------------------------------------------------------
    def _save_record(self, run: _Running) -> None:
        with self.state.edit_session(run.session_id) as writer:
            mine = next((r for r in writer.session.streams if r["id"] == run.record["id"]), None)
            if mine is not None and mine.get("status") != "running" and run.record["status"] == "running":
                run.stop.set()  # stopped from another process meanwhile: that stands
                return
            others = [r for r in writer.session.streams if r["id"] != run.record["id"]]
            writer.set(streams=[*others, dict(run.record)])
        if run.record["status"] == "running":
            self._index(run.record["id"], run.session_id)
        else:
            self._unindex(run.record["id"])

    def _index(self, stream_id: str, session_id: str) -> None:
        with self._lock:
            update_meta(self.state.store, INDEX, lambda index: {**(index or {}), stream_id: session_id})

    def _unindex(self, stream_id: str) -> None:
        with self._lock:
            update_meta(
                self.state.store, INDEX, lambda index: {k: v for k, v in (index or {}).items() if k != stream_id})

    # -- the worker -------------------------------------------------------------------
    def _loop(self, run: _Running) -> None:
        try:
            self._checks(run)
        finally:
            with self._lock:
                if self._running.get(run.record["id"]) is run:
                    self._running.pop(run.record["id"])
            if run.lease is not None:
                run.lease.release()

    def _checks(self, run: _Running) -> None:
        failures = 0
        while not run.stop.wait(run.record["interval_seconds"] * (2 ** failures)):
            if self._record(run.session_id, run.record["id"]) is None:
                return  # stopped from another process (or its chat is gone)
            if datetime.now(UTC) >= parse_time(run.record["expires_at"]):
                self.stop(run.session_id, run.record["id"], "it reached its maximum lifetime")
                return
            try:
                self._tick(run)
                failures = 0
            except ModelError as exc:
                failures += 1
                log.warning("stream %s: model call failed (%d): %s", run.record["id"], failures, exc.message)
                if failures >= self.max_failures:
                    self.stop(run.session_id, run.record["id"],
                              f"the model failed {failures} times in a row ({exc.message})")
                    return
            except Exception:
                log.exception("stream %s failed", run.record["id"])
                self.stop(run.session_id, run.record["id"], "an error in the server")
                return

    def _tick(self, run: _Running) -> None:
        session = self.state.get_chat_session(run.session_id)
        doc = self.state.get_document(run.document_id)
        section = doc.section(run.section_id) if doc else None
        if session is None or doc is None or section is None:
            run.stop.set()
            return
        messages, _ = build_messages(doc, section, session, self.context_tokens)
        messages.append({"role": "user", "content": STREAM_PROMPT.format(goal=run.record["goal"],
                                                                         stream_id=run.record["id"])})
        allowed = [*READ_ONLY, *STREAM_TOOLS]
        ctx = ToolContext(run.session_id, run.document_id, run.section_id, self.state,
                          streams=self, stream_id=run.record["id"])
        model, _ = self.llm.resolve(session.config.get("model"))

        def ask(_step: int, offer: list[str]) -> tuple[str, list[dict[str, Any]]]:
            request = ChatRequest(model=model, messages=messages,
                                  tools=[t.spec() for t in self.registry.select(offer)] or None,
                                  section_text=section.content, section_title=section.title)
            text, calls = collect(lambda sink: self.llm.deliver(request, run.stop, sink), run.stop)
            return text, calls.calls()

        run_tool_loop(ask, messages, registry=self.registry, ctx=ctx, allowed=allowed, max_rounds=MAX_TOOL_ROUNDS,
                      cancel=run.stop)

    def notify(self, ctx: ToolContext, message: str) -> None:
        """Deliver a stream's notification to its session's tabs and, as a toast, the document's."""
        with self._lock:
            run = self._running.get(ctx.stream_id or "")
        if run is not None:  # saved before the tabs are told: a page that reads the streams then sees it
            run.record["notifications"] += 1
            run.record["last_notification"] = {"text": redact(message), "at": now()}  # stored: no secrets
            self._save_record(run)
        payload = {"kind": "stream", "stream_id": ctx.stream_id, "text": message, "section_id": ctx.section_id}
        self.hub.publish(ctx.session_id, ctx.document_id, {"type": "notification", **payload})
        self.hub.notify_document(ctx.document_id, payload, exclude_session=ctx.session_id)
