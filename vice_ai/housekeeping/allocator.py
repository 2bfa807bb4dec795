"""Fewer malloc arenas (Linux with glibc only; a no-op elsewhere).

The server runs a thread per request and per websocket (werkzeug's threaded
server). glibc's malloc gives threads their own arenas (up to 8 per core), each
a heap of its own whose freed blocks stay in the process's RSS until the top of
that heap is free; with many short-lived threads, memory freed by one thread's
arena is not reused by the next thread, which takes another. Python holds the
GIL for nearly all its allocations (and serves small objects from its own
pools), so extra arenas buy the app almost no parallelism: two are enough.
Measured under bench/memory.py's mixed load (docs/benchmarks/memory.md): about
3 MiB (4%) less RSS at the same load, no slower; calling malloc_trim(0)
periodically was measured too and made no clear difference, so it is not done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from typing import Any

M_ARENA_MAX = -8  # glibc's malloc.h


def _glibc() -> Any | None:
    """The C library, when it is glibc on Linux (musl and other systems have no M_ARENA_MAX)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


_libc = _glibc()


def available() -> bool:
    return _libc is not None


def limit_arenas(count: int) -> bool:
    """At most `count` malloc arenas from now on (call before the server's threads start); False where it does
    nothing (not glibc, or count < 1: glibc's default)."""
    return count > 0 and _libc is not None and bool(_libc.mallopt(M_ARENA_MAX, count))
