"""Giving freed memory back to the system (Linux with glibc only; a no-op elsewhere).

The server runs a thread per request and per websocket (werkzeug's threaded
server), so under a long mixed load many short-lived threads allocate and free.
glibc's malloc serves such threads from several arenas, and a freed block in
the middle of an arena's heap stays part of the process's RSS until the top of
that heap is free: Python's heap stays flat (tracemalloc) while RSS creeps up.
`malloc_trim(0)` walks every arena and returns its free pages to the kernel
(madvise), whatever their position. `Trimmer` calls it every few seconds
(MALLOC_TRIM_SECONDS) from its own thread, a millisecond or so each time;
docs/benchmarks/memory.md has the measurements of it and of the alternative,
fewer arenas (`mallopt(M_ARENA_MAX)`, MALLOC_ARENAS).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h


def _glibc() -> Any | None:
    """The C library, when it is glibc on Linux (musl and other systems have no malloc_trim)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


_libc = _glibc()


def available() -> bool:
    return _libc is not None


def trim() -> bool:
    """Return free heap pages of every malloc arena to the system; True if some were."""
    return bool(_libc.malloc_trim(0)) if _libc is not None else False


def limit_arenas(count: int) -> bool:
    """At most `count` malloc arenas (call before threads start); False where not glibc or count < 1."""
    return count > 0 and _libc is not None and bool(_libc.mallopt(M_ARENA_MAX, count))


class Trimmer:
    """Calls `trim` every `every` seconds from its own thread; stoppable. Not started where it would do nothing
    (not glibc, or `every` <= 0)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.trims = 0

    def start(self) -> None:
        if self.every > 0 and available():
            self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                trim()
                self.trims += 1
            except Exception:
                log.exception("malloc_trim failed")

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
