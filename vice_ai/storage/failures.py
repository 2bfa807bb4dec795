"""Where the storage meets the OS: an `OSError` of a write told as the app's error, and what the folder's state is.

A full disk (ENOSPC, EDQUOT) becomes `StorageFull`; a read-only folder (EROFS,
EACCES, EPERM) `StorageReadOnly`; a data folder deleted or replaced while the
server runs `StorageGone`. `DataFolder` remembers the folder's identity (device
and inode of each subfolder, taken when the store opened it) and the last
condition a write met, for `/api/health`:

- `gone` is for good: the journals and lock files still open are unlinked, so
  nothing more is written until a restart;
- `read_only` is found when the store opens (a probe file) and when a write is
  refused; a write that succeeds clears it (the folder was remounted read-write);
- `full` is set by a write refused for lack of space and cleared by the next
  write that succeeds.
"""
from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StorageError, StorageFull, StorageGone, StorageReadOnly

log = logging.getLogger(__name__)

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ESTALE, errno.ENOTDIR})


class DataFolder:
    """The identity of a data folder's subfolders, and the condition its writes last met."""

    def __init__(self, root: Path, subfolders: tuple[str, ...]) -> None:
        self.root = root
        self._paths = {name: os.path.join(root, name) for name in subfolders}
        self._ids = {name: self._identity(path) for name, path in self._paths.items()}
        self._guard = threading.Lock()
        self.gone = False
        self.full = False
        self.read_only = False

    @staticmethod
    def _identity(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    # -- checks ---------------------------------------------------------------------
    def check(self, sub: str) -> None:
        """Raise `StorageGone` unless `sub` is still the folder the store opened (one stat)."""
        if self.gone or self._identity(self._paths[sub]) != self._ids[sub]:
            self._mark_gone()
            raise StorageGone()

    def probe_writable(self) -> bool:
        """Create and remove a file at the top of the folder; False (and `read_only`) if the OS refuses."""
        probe = os.path.join(self.root, f".write-probe-{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            if exc.errno in READ_ONLY_ERRNOS:
                self.read_only = True
                log.warning("the data folder %s is read-only (%s): serving what is stored, refusing changes",
                            self.root, exc.strerror)
                return False
            raise
        return True

    def state(self) -> str:
        """ok, full, read_only or gone (what `/api/health` reports)."""
        if not self.gone:
            # Health asks rarely: look, so a folder deleted while nothing was written is reported too.
            for name, path in self._paths.items():
                if self._identity(path) != self._ids[name]:
                    self._mark_gone()
                    break
        if self.gone:
            return "gone"
        if self.read_only:
            return "read_only"
        return "full" if self.full else "ok"

    # -- what writes met ------------------------------------------------------------
    @contextmanager
    def writing(self, sub: str) -> Iterator[None]:
        """A write in `sub`: refused when the folder is gone, its OSError told as the app's error.

        The folder is checked before and after: a write that went through a
        descriptor of a file the folder no longer links (a journal kept open
        while the folder was deleted) is lost, and is never acknowledged.
        """
        self.check(sub)
        try:
            yield
        except OSError as exc:
            translated = self.translate(exc, sub)
            if translated is exc:
                raise
            raise translated from exc
        self.check(sub)
        self.wrote()

    def wrote(self) -> None:
        """A write succeeded: the disk has room and the folder takes writes."""
        if self.full or self.read_only:
            with self._guard:
                self.full = self.read_only = False

    def translate(self, exc: OSError, sub: str) -> BaseException:
        """The app's error for an OSError a write in `sub` met (the OSError itself when it is none of ours)."""
        if exc.errno in GONE_ERRNOS or self.gone:
            try:
                self.check(sub)
            except StorageGone as gone:
                return gone
            return exc
        if exc.errno in FULL_ERRNOS:
            if not self.full:
                log.error("the disk of the data folder %s is full: %s", self.root, exc)
            self.full = True
            return StorageFull()
        if exc.errno in READ_ONLY_ERRNOS:
            if not self.read_only:
                log.error("the data folder %s refuses writes: %s", self.root, exc)
            self.read_only = True
            return StorageReadOnly()
        return exc

    def _mark_gone(self) -> None:
        with self._guard:
            if not self.gone:
                self.gone = True
                log.critical("the data folder %s was deleted or replaced while the server was running: "
                             "refusing every write until it is restored and the server restarted", self.root)


__all__ = ["DataFolder", "StorageError", "FULL_ERRNOS", "READ_ONLY_ERRNOS"]
