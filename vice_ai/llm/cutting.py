"""Cutting a model stream on stop: the connection's socket is shut down, which wakes whoever reads it.

Each request's `Watch` learns its connection from httpcore2's trace hook as soon
as it is open (so a stop cuts it even before the first byte); one thread for the
whole process (`WATCHER`) shuts down the sockets of cancelled requests.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from ..live.ticker import Ticker


class Watch:
    """One request's cancel event and the connection it runs on."""

    __slots__ = ("cancel", "network_stream", "cut")

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.network_stream: Any = None
        self.cut = False

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore2's trace hook: remember the connection as soon as it is open."""
        if name.endswith(("connect_tcp.complete", "start_tls.complete")):
            self.network_stream = info.get("return_value")
            if self.cancel.is_set():
                self.shutdown()

    def shutdown(self) -> None:
        """Shut the socket down: unlike close(), this wakes a thread blocked reading it."""
        stream = self.network_stream
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        try:
            # The plain socket method, so a TLS socket's state is left to its reader.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class Watcher:
    """One thread for the whole process that cuts the connections of cancelled requests."""

    POLL_SECONDS = 0.05

    def __init__(self) -> None:
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._ticker = Ticker("llm-cancel-watch", self.POLL_SECONDS, self._cut)

    def add(self, watch: Watch) -> None:
        with self._lock:
            self._watches.add(watch)
        self._ticker.wake()

    def remove(self, watch: Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def _cut(self) -> bool:
        """Shut down the connections of the requests cancelled since; False once nothing is watched."""
        with self._lock:
            due = [w for w in self._watches if not w.cut and w.cancel.is_set()]
            for w in due:
                w.cut = True
            more = bool(self._watches)
        for w in due:
            w.shutdown()
        return more


WATCHER = Watcher()
_current = threading.local()


@contextmanager
def watching(watch: Watch) -> Iterator[None]:
    """Let the request sent in this thread during the block tell `watch` its connection."""
    _current.watch = watch
    try:
        yield
    finally:
        _current.watch = None


def attach_trace(request: httpx2.Request) -> None:
    """httpx2 request hook: let the current stream's watch see the connection it opens."""
    watch = getattr(_current, "watch", None)
    if watch is not None:
        request.extensions["trace"] = watch.trace
