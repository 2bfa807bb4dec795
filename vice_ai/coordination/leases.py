"""Leases: at most one process (and one thread in it) runs a thing at a time.

A lease names a thing by kind and id: ("session", id) while a reply is
generated in that chat, ("stream", id) while a notification stream runs.
`acquire` never waits: it returns the lease, or None when someone holds it
(this process or another). Two implementations, chosen by the config:

- `FileLeases` (no Redis): an exclusive `flock` on a file under
  `<data>/leases/`, held for as long as the lease. The OS releases it when its
  process dies, so a crash frees what the process held, at once.
- `RedisLeases` (`REDIS_URL`): a key in Redis with a time to live, renewed by a
  thread while it is held, with a fencing number; a process that could not renew
  in time (paused, cut off) finds out at its next `check` and must stop writing.

Within one process both also keep a table of the leases held, so threads of
one process exclude each other (an flock belongs to an open file description,
not to a thread).
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import StorageError

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


class LeaseLost(StorageError):
    """This process no longer holds the lease of what it was writing: another one took over, so it stops."""

    code = "lease_lost"

    def __init__(self, message: str = "Another server process took over this reply (this one lost its lease "
                 "on it), so this one stopped writing it.") -> None:
        super().__init__(message, retryable=True, reason="lease_lost")


class Lease:
    """One held lease. `fence` grows with every grant of the same name (Redis; 0 for files)."""

    def __init__(self, owner: Leases, kind: str, item_id: str, token: str = "", fence: int = 0,
                 handle: Any = None) -> None:
        self.owner, self.kind, self.item_id = owner, kind, item_id
        self.token, self.fence, self.handle = token, fence, handle
        self.lost = threading.Event()
        self.released = False
        self._on_lost: list[Callable[[], None]] = []

    @property
    def fenced(self) -> bool:
        """True when the lease can be lost while its process lives: writes must `check` it first."""
        return self.owner.fenced

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the renewing thread) when the lease turns out lost."""
        self._on_lost.append(callback)
        if self.lost.is_set():
            callback()

    def check(self) -> None:
        """Raise `LeaseLost` unless this process still holds the lease (a round trip for Redis)."""
        if self.lost.is_set() or not self.owner.still_held(self):
            self.lose()
            raise LeaseLost()

    def lose(self) -> None:
        if self.lost.is_set():
            return
        self.lost.set()
        log.warning("lost the lease on %s %s", self.kind, self.item_id)
        for callback in self._on_lost:
            try:
                callback()
            except Exception:
                log.exception("a lease-lost callback failed")

    def release(self) -> None:
        self.owner.release(self)


class Leases:
    """The common part: the table of this process's leases. Subclasses take and give back the real thing."""

    fenced = False

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], Lease | None] = {}  # None: being taken right now
        self._guard = threading.Lock()
        self._closed = False

    def acquire(self, kind: str, item_id: str) -> Lease | None:
        """The lease on (kind, item_id) if nobody holds it, else None; never waits."""
        if not _NAME.fullmatch(kind) or not _NAME.fullmatch(item_id):
            raise ValueError(f"not a lease name: {kind!r} {item_id!r}")
        key = (kind, item_id)
        with self._guard:
            if self._closed or key in self._held:
                return None
            self._held[key] = None
        lease: Lease | None = None
        try:
            lease = self._take(kind, item_id)
        finally:
            with self._guard:
                if lease is None:
                    self._held.pop(key, None)
                else:
                    self._held[key] = lease
        return lease

    def release(self, lease: Lease) -> None:
        """Give a lease back (idempotent; never raises: an unreachable Redis lets it expire)."""
        key = (lease.kind, lease.item_id)
        with self._guard:
            if lease.released or self._held.get(key) is not lease:
                return
            lease.released = True
        try:
            self._give_back(lease)
        except Exception:
            log.exception("could not release the lease on %s %s (it expires by itself)", *key)
        finally:
            with self._guard:
                self._held.pop(key, None)

    def held(self) -> list[Lease]:
        with self._guard:
            return [lease for lease in self._held.values() if lease is not None]

    def holds(self, kind: str, item_id: str) -> bool:
        """True while this process holds (or is taking) that lease."""
        with self._guard:
            return (kind, item_id) in self._held

    def held_anywhere(self, kind: str, item_id: str) -> bool:
        """True while some process (this one included) holds that lease; without Redis, this process only."""
        return self.holds(kind, item_id)

    def still_held(self, lease: Lease) -> bool:
        return not lease.released

    def orphans(self, kind: str) -> list[str]:
        """Ids of `kind` whose holder went away without releasing (only Redis can tell; files free at once)."""
        return []

    def forget_orphan(self, kind: str, item_id: str) -> None:
        """Stop listing an orphan once it was dealt with (only Redis lists them)."""

    @property
    def sweeps(self) -> bool:
        """True when someone must look for `orphans` now and then."""
        return False

    def close(self) -> None:
        """Release every lease this process holds; later `acquire`s get None."""
        with self._guard:
            self._closed = True
        for lease in self.held():
            self.release(lease)

    def _take(self, kind: str, item_id: str) -> Lease | None:
        raise NotImplementedError

    def _give_back(self, lease: Lease) -> None:
        raise NotImplementedError


class ProcessLeases(Leases):
    """Leases within this process only (an engine built without a data folder's leases)."""

    def _take(self, kind: str, item_id: str) -> Lease | None:
        return Lease(self, kind, item_id)

    def _give_back(self, lease: Lease) -> None:
        pass


def build_leases(cfg: Mapping[str, Any], data_dir: str | Path) -> Leases:
    """Redis leases with `REDIS_URL`, else flocks on files under `<data>/leases/`."""
    if cfg.get("REDIS_URL"):
        from .redis_leases import RedisLeases

        return RedisLeases(cfg["REDIS_URL"], ttl=float(cfg.get("LEASE_TTL_SECONDS", 10.0)))
    from .file_leases import FileLeases

    return FileLeases(Path(data_dir) / "leases")
