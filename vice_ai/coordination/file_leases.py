"""Leases as flocks on files under `<data>/leases/`: released by the OS when their process dies.

Holding a lease = an exclusive, non-blocking `flock` on `<kind>-<id>.lease`,
kept for as long as the lease. The holder removes the file when it releases
(so the folder holds about as many files as leases are held). That is safe
because of the re-check the storage's lock files make too (storage/lock_file.py):
after its flock succeeds a taker checks that the path still names the file it
locked; if the file was removed meanwhile (its last holder released it), it
drops that one and tries the path again.

A folder where no file can be made (read-only, gone) gives leases of this
process only: nothing can be written there, so there is nobody to exclude.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..storage.lock_file import LockFile
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
        path = str(self.folder / f"{kind}-{item_id}.lease")
        while True:
            try:
                file = LockFile.open(path)
            except OSError as exc:
                log.debug("lease file %s cannot be made (%s): a lease of this process only", path, exc)
                return Lease(self, kind, item_id)
            try:
                held = file.try_lock()
            except BaseException:
                file.close()
                raise
            if held:
                return Lease(self, kind, item_id, handle=file)
            file.close()
            if held is None:
                return None  # held by another process
            # else its holder removed it as it released: try the path again

    def _give_back(self, lease: Lease) -> None:
        file: LockFile | None = lease.handle
        if file is None:
            return
        lease.handle = None
        file.remove()  # still under the flock: see the module's note
        file.close()  # closing drops the flock
