"""Leases as flocks on files under `<data>/leases/`: released by the OS when their process dies.

Holding a lease = an exclusive, non-blocking `flock` on `<kind>-<id>.lease`,
kept for as long as the lease. The holder removes the file when it releases
(so the folder holds about as many files as leases are held). That is safe
because of a re-check, as for the storage's lock files: after its flock
succeeds a taker checks that the path still names the inode it locked; if the
file was removed meanwhile (its last holder released it), it drops that one and
tries the path again. The path changes only under the lock of the file it
names, so everyone who passes the check holds the same file.

A folder where no file can be made (read-only, gone) gives leases of this
process only: nothing can be written there, so there is nobody to exclude.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from .leases import Lease, Leases

log = logging.getLogger(__name__)


class FileLeases(Leases):
    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("no leases folder %s (%s): leases hold within this process only", self.folder, exc)

    def _take(self, kind: str, item_id: str) -> Lease | None:
        path = self.folder / f"{kind}-{item_id}.lease"
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                log.debug("lease file %s cannot be made (%s): a lease of this process only", path, exc)
                return Lease(self, kind, item_id)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None  # held by another process
            except BaseException:
                os.close(fd)
                raise
            try:
                held, named = os.fstat(fd), os.stat(path)
                current = (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)
            except FileNotFoundError:
                current = False
            except BaseException:
                os.close(fd)
                raise
            if current:
                return Lease(self, kind, item_id, handle=(fd, str(path)))
            os.close(fd)  # its holder removed it as it released: try the path again

    def _give_back(self, lease: Lease) -> None:
        if lease.handle is None:
            return
        fd, path = lease.handle
        lease.handle = None
        try:
            os.unlink(path)  # still under the flock: see the module's note
        except OSError:
            pass
        os.close(fd)  # closing drops the flock
