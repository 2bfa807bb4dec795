"""Sidecar lock files: a cross-process (flock via filelock) and in-process reentrant lock per resource."""
from __future__ import annotations

import errno
import os
import secrets
import struct
import threading
from collections.abc import Callable

from .lock_file import LockFile

_GENERATIONS = struct.Struct("<QQ")


class SidecarLock:
    """A reentrant cross-process lock on one sidecar file (filelock's native flock on our own descriptor).

    The first `KEEP_OPEN` locks of a process keep their descriptor between
    holds, later ones open and close per hold, so thousands of sessions never
    pin thousands of descriptors. It is also a reentrant thread lock, so a
    thread that reads the counters of a resource another thread is writing
    simply waits.

    A deleted resource's lock file is removed (`unlink`) by the holder, so
    `locks/` stays as large as what is stored. Unlinking a file other
    processes may be waiting on is safe because of the re-check `LockFile`
    makes after every flock (see storage/lock_file.py, shared with the
    generation leases). Only the lock of a resource that is gone for good is
    unlinked (ids are uuids and never come back), and a new file's first
    `bump` starts its counters at a random value, so they never repeat what a
    process may remember from the file unlinked before.

    The file also holds two counters, bumped under the lock before every write
    to the resource: (snapshot writes, all writes). A process that finds them
    where it left them knows its in-memory copy is current without looking at
    the data files, and one that finds them moved knows exactly that, even when
    a rewritten file has the old file's inode, size and mtime.

    In a read-only data folder a lock file is opened read-only (flock works on
    it), or, when there is none and none can be made, the lock is a thread lock
    alone: nobody can write there, so there is nothing to exclude. `bump` then
    fails with EROFS, as the write after it would.

    `translate` turns an OSError into the app's error (see `failures.DataFolder`).
    """

    POLL_SECONDS = 0.002  # waiting for another process: short polls keep writers interleaving
    KEEP_OPEN = 256
    _kept = 0
    _kept_guard = threading.RLock()  # re-entrant: __del__ may run (GC) while this thread holds it

    def __init__(self, path: str, translate: Callable[[OSError], BaseException] | None = None,
                 after_bump: Callable[[], None] | None = None) -> None:
        self.path = path
        self._translate = translate
        self._after_bump = after_bump  # told after each bump (the store's folder-wide change mark)
        self._file: LockFile | None = None
        self._lockless = False  # this hold has no file (read-only folder without one)
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
        except OSError as exc:
            self._threads.release()
            if self._translate is None:
                raise
            raise self._translate(exc) from exc
        except BaseException:
            self._threads.release()
            raise

    def _acquire(self) -> None:
        if self._depth == 0:
            while not self._lock_file():
                pass  # the file was unlinked (its resource deleted) while we waited: lock the new one
        self._depth += 1

    def _open(self) -> None:
        try:
            self._file = LockFile.open(self.path)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            try:
                self._file = LockFile.open(self.path, writable=False)
            except FileNotFoundError:
                self._lockless = True  # a read-only folder: no file, no writer to exclude
                return
        if self._file.writable:
            with SidecarLock._kept_guard:
                if SidecarLock._kept < self.KEEP_OPEN:
                    SidecarLock._kept += 1
                    self._keep = True

    def _lock_file(self) -> bool:
        """flock the file the path names; False if it was unlinked meanwhile (the caller tries again)."""
        self._lockless = False
        if self._file is None:
            self._open()
            if self._lockless:
                return True
        assert self._file is not None
        try:
            current = self._file.lock(self.POLL_SECONDS)
        except BaseException:
            self._drop()
            raise
        if not current:
            self._drop()
        return current

    def release(self) -> None:
        if self._depth == 0:
            raise RuntimeError(f"{self.path} is not locked")
        try:
            self._depth -= 1
            if self._depth == 0:
                self._generations = None
                if self._lockless:
                    self._lockless = False
                    return
                assert self._file is not None
                try:
                    self._file.unlock()
                except OSError:
                    self._drop()  # closing drops the flock even if the unlock failed
                    raise
                if not self._keep:
                    self._drop()
        finally:
            self._threads.release()

    def _drop(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()
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
                if self._file is None:  # lockless: a read-only folder where nothing was ever written
                    return (0, 0)
                raw = os.pread(self._file.fd, _GENERATIONS.size, 0)
                # A new lock file has nothing counted yet.
                self._generations = _GENERATIONS.unpack(raw) if len(raw) == _GENERATIONS.size else (0, 0)
            return self._generations

    def bump(self, snapshot: bool) -> tuple[int, int]:
        """Count a write that is about to happen, and return the new counters.

        Counted before the write: a writer that dies halfway has still moved them.
        """
        with self:
            snaps, writes = self.generations()
            if (snaps, writes) == (0, 0):
                # A new file: start anywhere, so a file made again under a name never
                # repeats counters a process may remember from the one unlinked before.
                snaps = writes = secrets.randbits(48)
            bumped = (snaps + snapshot, writes + 1)
            try:
                if self._file is None or not self._file.writable:
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), self.path)
                # No fsync: after a power cut every process starts with an empty cache.
                os.pwrite(self._file.fd, _GENERATIONS.pack(*bumped), 0)
                if self._after_bump is not None:
                    self._after_bump()
            except OSError as exc:
                if self._translate is None:
                    raise
                raise self._translate(exc) from exc
            self._generations = bumped
            return bumped

    @staticmethod
    def peek(path: str) -> tuple[int, int] | None:
        """The counters in a lock file read without locking it (None: no file, or nothing counted yet).

        Safe for "did it change since I last held it": a bump is one 16-byte
        pwrite made before the write it counts, so a read that starts after a
        writer finished sees it, and a read racing a bump sees the old counters
        (the write is still under way: the caller's locked read waits for it)
        or a mix of old and new, which differs from the old counters anyway.
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            raw = os.pread(fd, _GENERATIONS.size, 0)
        finally:
            os.close(fd)
        return _GENERATIONS.unpack(raw) if len(raw) == _GENERATIONS.size else None

    def unlink(self) -> None:
        """Remove the lock file of a resource that is gone for good (hold the lock; see the class)."""
        if self._depth == 0:
            raise RuntimeError(f"{self.path} is not locked")
        if self._file is None or not self._file.writable:
            return  # read-only folder: nothing to tidy
        if not self._file.remove():
            return  # tidying only (already gone, or the folder stopped taking changes)
        # Waiters (other processes, or threads of this one after the release) find the
        # path no longer names this inode and lock the new file; this descriptor is done.
        if self._keep:
            self._keep = False
            with SidecarLock._kept_guard:
                SidecarLock._kept -= 1

    def __enter__(self) -> SidecarLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Exclusive:
    """A resource's thread lock, then its file lock (a class: cheaper than a generator on every append)."""

    __slots__ = ("_thread_lock", "_file_lock")

    def __init__(self, thread_lock: threading.RLock, file_lock: SidecarLock) -> None:
        self._thread_lock = thread_lock
        self._file_lock = file_lock

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            self._file_lock.acquire()
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._file_lock.release()
        finally:
            self._thread_lock.release()
