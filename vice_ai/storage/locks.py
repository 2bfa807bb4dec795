"""Sidecar lock files: a cross-process (flock via filelock) and in-process reentrant lock per resource."""
from __future__ import annotations

import os
import struct
import threading

from filelock import lock_descriptor, unlock_descriptor

_GENERATIONS = struct.Struct("<QQ")


class SidecarLock:
    """A reentrant cross-process lock on one sidecar file (filelock's native flock on our own descriptor).

    The file itself is never deleted (unlinking a lock file lets two processes
    lock different inodes), so a descriptor to it stays good: the first
    `KEEP_OPEN` locks of a process keep theirs between holds, later ones open
    and close per hold, so thousands of sessions never pin thousands of
    descriptors. It is also a reentrant thread lock, so a thread that reads the
    counters of a resource another thread is writing simply waits.

    The file also holds two counters, bumped under the lock before every write
    to the resource: (snapshot writes, all writes). A process that finds them
    where it left them knows its in-memory copy is current without looking at
    the data files, and one that finds them moved knows exactly that, even when
    a rewritten file has the old file's inode, size and mtime.
    """

    POLL_SECONDS = 0.002  # waiting for another process: short polls keep writers interleaving
    KEEP_OPEN = 256
    _kept = 0
    _kept_guard = threading.RLock()  # re-entrant: __del__ may run (GC) while this thread holds it

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._keep = False
        self._depth = 0
        self._generations: tuple[int, int] | None = None  # read once per hold: nobody else can move them
        self._threads = threading.RLock()

    @property
    def is_locked(self) -> bool:
        return self._depth > 0

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            self._acquire()
        except BaseException:
            self._threads.release()
            raise

    def _acquire(self) -> None:
        if self._depth == 0:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                with SidecarLock._kept_guard:
                    if SidecarLock._kept < self.KEEP_OPEN:
                        SidecarLock._kept += 1
                        self._keep = True
            try:
                lock_descriptor(self._fd, poll_interval=self.POLL_SECONDS)
            except BaseException:
                self._drop()
                raise
        self._depth += 1

    def release(self) -> None:
        if self._depth == 0:
            raise RuntimeError(f"{self.path} is not locked")
        try:
            self._depth -= 1
            if self._depth == 0:
                self._generations = None
                assert self._fd is not None
                try:
                    unlock_descriptor(self._fd)
                except OSError:
                    self._drop()  # closing drops the flock even if the unlock failed
                    raise
                if not self._keep:
                    self._drop()
        finally:
            self._threads.release()

    def _drop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        if self._keep:
            self._keep = False
            with SidecarLock._kept_guard:
                SidecarLock._kept -= 1

    def close(self) -> None:
        """Close a kept descriptor (the lock must not be held)."""
        if self._depth:
            raise RuntimeError(f"{self.path} is locked")
        self._drop()

    def __del__(self) -> None:
        # A dropped Store (tests build many) gives its kept descriptors back.
        try:
            self._drop()
        except (OSError, TypeError, AttributeError):
            pass  # interpreter shutdown

    def generations(self) -> tuple[int, int]:
        """(snapshot writes, all writes) so far (under the lock: cheap when this thread holds it)."""
        with self:
            if self._generations is None:
                assert self._fd is not None
                raw = os.pread(self._fd, _GENERATIONS.size, 0)
                # A new lock file has nothing counted yet.
                self._generations = _GENERATIONS.unpack(raw) if len(raw) == _GENERATIONS.size else (0, 0)
            return self._generations

    def bump(self, snapshot: bool) -> tuple[int, int]:
        """Count a write that is about to happen, and return the new counters.

        Counted before the write: a writer that dies halfway has still moved them.
        """
        with self:
            snaps, writes = self.generations()
            bumped = (snaps + snapshot, writes + 1)
            assert self._fd is not None
            # No fsync: after a power cut every process starts with an empty cache.
            os.pwrite(self._fd, _GENERATIONS.pack(*bumped), 0)
            self._generations = bumped
            return bumped

    def __enter__(self) -> SidecarLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
