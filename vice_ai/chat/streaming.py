"""One model answer streaming into a reply: its delta events, now-and-then renders, and checkpoints.

Checkpoints (every second; with more than CHECKPOINT_STREAMS replies streaming, less
often, so that all of them together write about that many a second) write only
the text added since the last one (a `text` record in
the session's journal, see `domain/records.py`), each piece redacted on its
own. A piece ends where no secret can span the cut (`redaction.settled`): a tail
that could be the start of a key waits for the next checkpoint, or for the
final save, which redacts the whole reply again. So a crash leaves the reply so
far on disk (marked `interrupted` by `ChatEngine.recover`) and no key split
over several deltas ever reaches the disk whole.

Under load (BATCH_FROM replies or more streaming at once), the tokens of a
reply that come within BATCH_SECONDS of its last delta go out together as one
delta (sent by the next token, or by the flusher thread): a burst of tokens
costs one event, one encoding and one socket write per tab, not one each. A
token after a pause goes out at once, so a paced stream adds no wait.

The write itself (a journal append, fsynced) runs on a small pool of checkpoint
threads, so a slow disk never holds up the tokens; a stream has at most one
write in flight (a checkpoint due meanwhile waits and takes more text), and
`close` waits for it, so the final save always comes after the last checkpoint.
A failed write (disk full...) is raised by the stream's next token or `close`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..coordination.leases import Lease
from ..domain.models import Message
from ..domain.state import AppState
from ..housekeeping.redaction import redact, settled
from ..live.ticker import Ticker
from .render import render_markdown
from .rounds import EventHandler

# How often a streaming reply is written to disk, so a crash keeps most of it: every CHECKPOINT_SECONDS while up
# to CHECKPOINT_STREAMS replies stream; with more, less often, so that all of them together write about
# CHECKPOINT_STREAMS checkpoints a second (one costs ~0.3 ms of CPU: at 200 streams, 5% of a core saved).
CHECKPOINT_SECONDS = 1.0
CHECKPOINT_STREAMS = 50
# How often (at most) a delta event carries the rendered HTML of the reply so far.
RENDER_SECONDS = 0.1
# Rendering the whole reply gets dearer as it grows, and the server may stream hundreds of replies:
# a stream's next render waits RENDER_SPACING x (its last render's time) x (replies streaming), so all
# the renders together take at most about 1/RENDER_SPACING of one core. The browser shows the raw
# text between renders, and `done` carries the final HTML.
RENDER_SPACING = 50
# Deltas of one reply are batched when this many replies stream at once, over at most this many seconds.
BATCH_FROM = 8
BATCH_SECONDS = 0.025
# Threads writing checkpoints, for all the replies streaming in this process.
CHECKPOINT_THREADS = 4

log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(CHECKPOINT_THREADS, thread_name_prefix="checkpoint")
        return _pool


class _Flusher:
    """One thread that sends the batched text of every reply whose batch is due (started when first needed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.due: set[ReplyStream] = set()
        self.ticker = Ticker("delta-flusher", BATCH_SECONDS, self._flush, linger=None)

    def add(self, stream: ReplyStream) -> None:
        with self.lock:
            self.due.add(stream)
        self.ticker.wake()

    def _flush(self) -> bool:
        with self.lock:
            due, self.due = self.due, set()
        for stream in due:
            try:
                stream.flush()
            except Exception:  # one broken stream must not stop the others'
                log.exception("could not send a batched delta")
        return False  # the next add wakes it


_FLUSHER = _Flusher()


class ReplyStream:
    """Turns the model's text pieces into delta events and checkpoints of one reply (`prefix`: its text so far,
    as stored when the reply began streaming)."""

    def __init__(self, state: AppState, session_id: str, reply: Message, emit: EventHandler, prefix: str = "", *,
                 watched: Callable[[], bool], streams: Callable[[], int], lease: Lease | None = None) -> None:
        self.state, self.session_id, self.reply, self.emit = state, session_id, reply, emit
        self.lease = lease  # the generation's: a checkpoint is fenced by it like every write of the reply
        self.parts: list[str] = [prefix] if prefix else []
        # The stored copy holds prefix[:settled(prefix)] (redaction.redact_message); the rest waits here.
        self.held = prefix[settled(prefix):]
        self.unsaved = len(self.parts)  # parts[unsaved:] are not checkpointed yet
        self.watched, self.streams = watched, streams
        now = time.monotonic()
        self.next_save, self.next_render = now + CHECKPOINT_SECONDS, now + RENDER_SECONDS
        self._writing: Future[None] | None = None
        self._lock = threading.Lock()  # the batch, between the stream's thread and the flusher
        self.unsent: list[str] = []
        self.last_delta, self.queued = 0.0, False

    def text(self) -> str:
        return "".join(self.parts)

    def on_text(self, text: str) -> None:
        self.parts.append(text)
        now = time.monotonic()
        render = now >= self.next_render
        with self._lock:
            self.unsent.append(text)
            if render or now - self.last_delta >= BATCH_SECONDS or self.streams() < BATCH_FROM:
                self._delta(now, render)
            elif not self.queued:
                self.queued = True
                _FLUSHER.add(self)
        if now >= self.next_save:
            writing = self._writing
            if writing is not None:
                if not writing.done():
                    return  # the last one is still being written: this one waits, and takes more text
                self._writing = None
                writing.result()  # a failed write fails the reply
            self.checkpoint()
            self.next_save = time.monotonic() + CHECKPOINT_SECONDS * max(1.0, self.streams() / CHECKPOINT_STREAMS)

    def _delta(self, now: float, render: bool = False) -> None:
        """Send the text not sent yet as one delta (under `_lock`)."""
        event: dict[str, Any] = {"type": "delta", "message_id": self.reply.id, "text": "".join(self.unsent)}
        self.unsent.clear()
        self.last_delta = now
        if render:
            self._render(event)
        self.emit(event)

    def flush(self) -> None:
        """Send the batched text, if any (the flusher's call, and the stream's last)."""
        with self._lock:
            self.queued = False
            if self.unsent:
                self._delta(time.monotonic())

    def _render(self, event: dict[str, Any]) -> None:
        """The rendered reply so far, for the tabs watching (nobody watching: no render)."""
        if not self.watched():
            self.next_render = time.monotonic() + RENDER_SECONDS
            return
        started = time.monotonic()
        event["html"] = render_markdown(self.text())
        took = time.monotonic() - started
        self.next_render = time.monotonic() + max(RENDER_SECONDS, RENDER_SPACING * took * max(1, self.streams()))

    def checkpoint(self) -> None:
        """Journal the settled text added since the last checkpoint, redacted on its own (on a writer thread)."""
        pending = self.held + "".join(self.parts[self.unsaved:])
        self.unsaved = len(self.parts)
        cut = settled(pending)
        piece, self.held = pending[:cut], pending[cut:]
        if piece:
            self._writing = _writers().submit(self._write, redact(piece))

    def _write(self, piece: str) -> None:
        with self.state.edit_session(self.session_id) as writer:
            if self.lease is not None and self.lease.fenced:
                self.lease.check()  # under the chat's locks: never after a new holder's write
            writer.put_text(self.reply.id, piece)

    def close(self, quiet: bool = False) -> None:
        """Wait for the checkpoint in flight (the reply's next write must follow it); raises its failure
        (unless `quiet`: another one is being told)."""
        self.flush()
        writing, self._writing = self._writing, None
        if writing is not None:
            try:
                writing.result()
            except Exception:
                if not quiet:
                    raise
