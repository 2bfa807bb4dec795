"""One open lock file: flocked only while its path still names it, so its holder may remove it.

The sidecar locks (`locks.SidecarLock`) and the generation leases
(`coordination/file_leases.FileLeases`) both hold an `flock` on a file that its
holder removes when it is done with it (a deleted resource's lock, a released
lease), so the folder stays as large as what is in use. That is safe because
of a re-check: after every flock the holder checks that the path still names
the file (device, inode) it locked; if not (it was removed, maybe made again),
it closes that one and opens the path again. The path changes only under the
lock of the file it names, so everyone who passes the check holds the same
file.
"""
from __future__ import annotations

import os

from filelock import lock_descriptor, unlock_descriptor


class LockFile:
    """An open descriptor on a lock file, with the (device, inode) it is."""

    __slots__ = ("path", "fd", "inode", "writable")

    def __init__(self, path: str, fd: int, writable: bool) -> None:
        self.path, self.fd, self.writable = path, fd, writable
        try:
            held = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        self.inode = (held.st_dev, held.st_ino)

    @classmethod
    def open(cls, path: str, writable: bool = True) -> LockFile:
        """Open `path` read-write, made if missing; or read-only, when it must exist (flock works on it)."""
        if writable:
            return cls(path, os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), True)
        return cls(path, os.open(path, os.O_RDONLY | os.O_CLOEXEC), False)

    def lock(self, poll: float) -> bool:
        """Wait for the flock (polling every `poll` seconds), then check the path still names this file.

        False: it was removed meanwhile; it is unlocked again: close it and open the path again.
        Raises with the file unlocked.
        """
        lock_descriptor(self.fd, poll_interval=poll)
        return self._named()

    def try_lock(self) -> bool | None:
        """`lock` without waiting: None when someone else holds the flock."""
        if not lock_descriptor(self.fd, blocking=False):
            return None
        return self._named()

    def _named(self) -> bool:
        """(Locked.) True if the path still names this file, else unlock it and say False."""
        try:
            named = os.stat(self.path)
            current = (named.st_dev, named.st_ino) == self.inode
        except FileNotFoundError:
            current = False
        except BaseException:
            self.unlock_quietly()
            raise
        if not current:
            self.unlock_quietly()
        return current

    def unlock(self) -> None:
        unlock_descriptor(self.fd)

    def unlock_quietly(self) -> None:
        try:
            unlock_descriptor(self.fd)
        except OSError:
            pass  # closing drops the flock anyway

    def remove(self) -> bool:
        """Unlink the path, under the flock (see the module); False when it cannot be (gone, or the folder
        takes no changes). Whoever waits for the flock then finds the path no longer names this file."""
        try:
            os.unlink(self.path)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Close the descriptor (which drops the flock)."""
        os.close(self.fd)
