"""One thread that reads the bodies of all streamed model replies.

A thread per reply, blocked on its socket, costs a thread wake-up, a GIL
hand-off and a trip through httpx's layers for every token: with hundreds of
replies streaming at once that was most of the app's CPU (see
docs/benchmarks/streaming.md, round 3). So the backend sends each request and
reads the response's headers in the reply's own thread, through the openai
client as before (status errors, retries and timeouts unchanged), then hands
the connection here: one selector loop reads every reply's socket, h11 (the
same connection object httpcore was using, with whatever it had already
buffered) undoes the chunked encoding, and the events go to the reply's
`on_event`, in this thread. The reply's thread sleeps until its body ends.

`detach` only hands over what it knows how to read: a plain or TLS socket of
an HTTP/1.1 connection. Anything else (HTTP/2, TLS inside a TLS proxy tunnel,
another httpcore2 layout) returns None and is read in the reply's thread as
before.
"""
from __future__ import annotations

import heapq
import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import h11
import httpx2
from httpcore2._backends.sync import SyncStream

from ..live.lag import Lag
from . import sse

log = logging.getLogger(__name__)

READ_BYTES = 65536
# Called with each event of the body; True when the stream is over ([DONE]...), and reading stops.
OnEvent = Callable[[sse.ServerEvent], bool]


def detach(response: Any) -> tuple[h11.Connection, socket.socket] | None:
    """The HTTP/1.1 connection of an httpx2 streaming response whose body is still to be read, or None."""
    try:
        connection = response.stream._stream._httpcore_stream._stream._connection
        state = connection._h11_state
        network = response.extensions["network_stream"]
    except (AttributeError, KeyError):
        return None
    if not isinstance(state, h11.Connection) or state.their_state is not h11.SEND_BODY:
        return None
    if not isinstance(network, SyncStream):
        return None  # e.g. TLS inside a proxy's TLS: its socket carries the outer layer
    sock = network.get_extra_info("socket")
    return (state, sock) if isinstance(sock, socket.socket) else None


class Body:
    """One response body being read by the reactor."""

    __slots__ = ("state", "sock", "on_event", "idle", "deadline", "lines", "events", "ended", "error")

    def __init__(self, state: h11.Connection, sock: socket.socket, on_event: OnEvent, idle: float) -> None:
        self.state, self.sock, self.on_event, self.idle = state, sock, on_event, idle
        self.deadline = time.monotonic() + idle
        self.lines = sse.LineSplitter()
        self.events = sse.EventParser()
        self.ended = threading.Event()
        self.error: BaseException | None = None

    def take(self) -> bool:
        """Read what the socket has; True when the body has ended (its end, [DONE], or a failure)."""
        received = False
        while True:
            try:
                data = self.sock.recv(READ_BYTES)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except OSError as exc:
                raise httpx2.ReadError(str(exc) or "the connection failed") from exc
            received = True
            self.state.receive_data(data)
            if not data or not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                break
        if received:
            self.deadline = time.monotonic() + self.idle
        return self.drain()

    def drain(self) -> bool:
        """Pass on the events of what h11 holds; True when the body has ended."""
        while True:
            try:
                event = self.state.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx2.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                return False
            if isinstance(event, h11.Data):
                if self._lines(self.lines.feed(bytes(event.data))):
                    return True
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return self._lines(self.lines.end()) or self._last()

    def _lines(self, lines: list[str]) -> bool:
        for line in lines:
            event = self.events.line(line)
            if event is not None and self.on_event(event):
                return True
        return False

    def _last(self) -> bool:
        event = self.events.end()
        if event is not None:
            self.on_event(event)
        return True


class Reactor:
    """The selector loop (a daemon thread, started when first needed)."""

    def __init__(self) -> None:
        self._fresh()
        os.register_at_fork(after_in_child=self._fresh)  # a forked worker starts with no loop of its own

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._new: list[Body] = []
        self._reading: set[Body] = set()  # given to read() and not ended
        self._thread: threading.Thread | None = None
        self.lag = Lag()  # whether the loop is behind (the engine's gate lets it catch up first)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def read(self, body: Body) -> None:
        """Read `body` to its end (its events go to its `on_event`, in the reactor's thread); raises its failure."""
        body.sock.setblocking(False)
        with self._lock:
            self._reading.add(body)
            self._new.append(body)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="model-streams", daemon=True)
                self._thread.start()
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # a wake-up is pending already
        body.ended.wait()
        if body.error is not None:
            raise body.error

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        deadlines: list[tuple[float, int, Body]] = []  # a heap; stale entries are skipped
        try:
            self._loop(selector, deadlines)
        except BaseException as exc:  # a bug here must fail the replies, never leave them waiting
            log.exception("the model stream reader failed")
            self.lag.waiting()
            with self._lock:
                self._thread = None  # the next read() starts a new one
                failed, self._new = [*self._reading], []
            for body in failed:
                self._end(selector, body, httpx2.ReadError(f"the model stream reader failed: {exc!r}"))
            selector.close()

    def _loop(self, selector: selectors.BaseSelector, deadlines: list[tuple[float, int, Body]]) -> None:
        while True:
            timeout = max(0.0, deadlines[0][0] - time.monotonic()) if deadlines else None
            self.lag.waiting()
            ready = selector.select(timeout)
            self.lag.woke()
            for key, _ in ready:
                body = key.data
                if body is None:
                    self._adopt(selector, deadlines)
                elif not body.ended.is_set():
                    self._step(selector, body, body.take)
            now = time.monotonic()
            while deadlines and deadlines[0][0] <= now:
                _, _, body = heapq.heappop(deadlines)
                if body.ended.is_set():
                    continue
                if body.deadline <= now:
                    self._end(selector, body, httpx2.ReadTimeout("the model server went silent"))
                else:
                    heapq.heappush(deadlines, (body.deadline, id(body), body))

    def _adopt(self, selector: selectors.BaseSelector, deadlines: list[tuple[float, int, Body]]) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            new, self._new = self._new, []
        for body in new:
            try:
                selector.register(body.sock, selectors.EVENT_READ, body)
            except (OSError, ValueError) as exc:  # closed meanwhile (a stop)
                self._end(selector, body, httpx2.ReadError(str(exc)))
                continue
            heapq.heappush(deadlines, (body.deadline, id(body), body))
            self._step(selector, body, body.drain)  # what httpcore had read with the headers

    def _step(self, selector: selectors.BaseSelector, body: Body, step: Callable[[], bool]) -> None:
        try:
            if step():
                self._end(selector, body, None)
        except BaseException as exc:  # the reply's failure, raised in its own thread
            self._end(selector, body, exc)

    def _end(self, selector: selectors.BaseSelector, body: Body, error: BaseException | None) -> None:
        with self._lock:
            self._reading.discard(body)
        try:
            selector.unregister(body.sock)
        except (KeyError, ValueError):
            pass
        body.error = error
        body.ended.set()


REACTOR = Reactor()
