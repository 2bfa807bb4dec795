"""The `Store`: where each resource's files live, their sidecar locks, and reading and writing them.

Layout::

    <data>/documents/<id>.json     snapshot of a document (whole-file atomic replace)
    <data>/sessions/<id>.json      snapshot of a chat session
    <data>/sessions/<id>.journal   records appended since that snapshot, one JSON per line
    <data>/presets/<id>.json       a user's instruction preset (users/ holds the accounts)
    <data>/locks/<kind>-<id>.lock  filelock sidecars (never the data files themselves), removed with the resource
    <data>/locks/documents.changes a random mark rewritten on every document write (see `WATCHED`)
    <data>/quarantine/             corrupt files, moved aside

Snapshots are replaced atomically (`files.write_atomic`); journals are padded
append-only files (`journal`); every write first bumps the counters in the
resource's lock file (`locks.SidecarLock`).

Every write runs in `failures.DataFolder.writing`: its OSError becomes the
app's error (disk full, read-only, folder gone). Reads never need to write: a
repair a read cannot make is left for later; a read-only folder is read as such.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StorageReadOnly
from .failures import READ_ONLY_ERRNOS, DataFolder
from .files import (
    FORMAT_VERSION,
    CorruptFile,
    commit_temp,
    dumps,
    fsync_dir,
    is_id,
    is_temp_name,
    stat_key,
    write_atomic,
    write_temp,
)
from .journal import (
    size_of,
)
from .journal_files import JournalFiles
from .locks import SidecarLock

log = logging.getLogger(__name__)

KINDS = ("documents", "sessions", "users", "presets")
FOLDERS = (*KINDS, "locks", "quarantine")

# Kinds with a folder-wide change mark (`changes`): every write to one of them, from any process, first
# writes a new random mark after bumping the resource's own counters, so a reader that finds the mark
# where it left it knows no resource of the kind changed, was created or was deleted since (the list).
WATCHED = ("documents",)

# A snapshot temp file older than this belongs to a writer that died.
STALE_TEMP_SECONDS = 600.0



@dataclass(frozen=True)
class Snapshot:
    data: dict[str, Any]
    journal_base: int
    key: tuple[int, int, int]  # (inode, mtime_ns, size): changes whenever the file is replaced


class Store(JournalFiles):
    """Durable files for documents and sessions; callers hold `lock()` around read-modify-write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in FOLDERS:
            try:
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                if exc.errno not in READ_ONLY_ERRNOS:
                    raise
                raise StorageReadOnly(f"The data folder {self.root} is read-only and has no {sub}/ folder: "
                                      "it cannot be served. Make it writable once, or give another one "
                                      "(VICE_AI_DATA_DIR).") from exc
        self.folder = DataFolder(self.root, FOLDERS)
        self.folder.probe_writable()
        self._locks: dict[str, SidecarLock] = {}
        self._locks_guard = threading.Lock()
        # Checked ids -> "<root>/<kind>/<id>": the hot path (every append) skips
        # re-validating the uuid and building Path objects.
        self._bases: dict[tuple[str, str], str] = {}
        # Open journal descriptors, each with the snapshot generation it was opened
        # in: a journal is only unlinked or moved along with its snapshot, so while
        # that generation holds, the descriptor is still the file under the name.
        self._journals: dict[tuple[str, str], tuple[int, int]] = {}
        self.remove_stale_temp_files()

    def close(self) -> None:
        """Close the descriptors this store keeps open (it stays usable: they reopen on demand)."""
        for key in list(self._journals):
            self._forget_journal(*key)
        with self._locks_guard:
            locks = list(self._locks.values())
        for lock in locks:
            if not lock.is_locked:
                lock.close()

    def __del__(self) -> None:
        try:
            for fd, _ in self._journals.values():
                os.close(fd)
        except (OSError, TypeError, AttributeError):
            pass  # interpreter shutdown

    def remove_stale_temp_files(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Delete snapshot temp files a killed writer left behind; returns how many.

        Only old ones: a live writer (maybe another process) renames its temp file
        within moments of creating it.
        """
        if self.folder.read_only:
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for kind in KINDS:
            with os.scandir(self.root / kind) as entries:
                for entry in entries:
                    if is_temp_name(entry.name):
                        try:
                            if entry.stat().st_mtime < cutoff:
                                os.unlink(entry.path)
                                removed += 1
                        except FileNotFoundError:
                            pass  # another process cleaned it first
        if removed:
            log.info("removed %d stale temp file(s) under %s", removed, self.root)
        return removed

    # -- paths and locks ------------------------------------------------------------
    def _base(self, kind: str, item_id: str) -> str:
        base = self._bases.get((kind, item_id))
        if base is None:
            if kind not in KINDS or not is_id(item_id):
                # Ids come from URLs: never let one name a file outside its folder.
                raise ValueError(f"bad {kind} id {item_id!r}")
            if len(self._bases) > 100_000:
                self._bases.clear()  # bounded: ids from URLs are endless
            base = self._bases[(kind, item_id)] = os.path.join(self.root, kind, item_id)
        return base

    def _path(self, kind: str, item_id: str, suffix: str = ".json") -> Path:
        return Path(self._base(kind, item_id) + suffix)

    def lock(self, kind: str, item_id: str) -> SidecarLock:
        """The cross-process lock of one resource (hold a thread lock around it too)."""
        self._base(kind, item_id)
        name = f"{kind}-{item_id}"
        with self._locks_guard:
            lock = self._locks.get(name)
            if lock is None:
                lock = self._locks[name] = SidecarLock(
                    os.path.join(self.root, "locks", f"{name}.lock"),
                    functools.partial(self.folder.translate, sub="locks"),
                    functools.partial(self._mark_changed, kind) if kind in WATCHED else None)
            return lock

    def _mark_changed(self, kind: str) -> None:
        """A write to a resource of `kind` is about to happen: a new random mark in `locks/<kind>.changes`."""
        fd = os.open(os.path.join(self.root, "locks", f"{kind}.changes"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC,
                     0o644)
        try:
            os.pwrite(fd, secrets.token_bytes(8), 0)
        finally:
            os.close(fd)

    def changes(self, kind: str) -> bytes | None:
        """The folder-wide change mark of a watched kind, read without a lock (see `WATCHED`); None if none yet."""
        try:
            fd = os.open(os.path.join(self.root, "locks", f"{kind}.changes"), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            mark = os.pread(fd, 8, 0)
        finally:
            os.close(fd)
        return mark if len(mark) == 8 else None

    def peek_generations(self, kind: str, item_id: str) -> tuple[int, int] | None:
        """A resource's counters read without its lock (see `SidecarLock.peek`): equal to what a holder last
        saw means nobody wrote since, unless a write is under way right now."""
        self._base(kind, item_id)
        return SidecarLock.peek(os.path.join(self.root, "locks", f"{kind}-{item_id}.lock"))

    def drop_lock(self, kind: str, item_id: str) -> None:
        """Remove the lock file of a resource found not to exist (hold its lock): a reader that waited on
        the lock of something being deleted made a new file, which must not stay behind."""
        lock = self.lock(kind, item_id)
        if lock.is_locked and not self.exists(kind, item_id):
            lock.unlink()

    def generations(self, kind: str, item_id: str) -> tuple[int, int]:
        """How many snapshot writes and writes of any kind a resource has had (see `SidecarLock`)."""
        return self.lock(kind, item_id).generations()

    def ids(self, kind: str) -> list[str]:
        """Ids of every stored resource of a kind (from file names; nothing is parsed)."""
        out = []
        with os.scandir(self.root / kind) as entries:
            for entry in entries:
                stem, dot, ext = entry.name.rpartition(".")
                if dot and ext == "json" and is_id(stem):
                    out.append(stem)
        return out

    def exists(self, kind: str, item_id: str) -> bool:
        return self._path(kind, item_id).exists()

    def snapshot_key(self, kind: str, item_id: str) -> tuple[int, int, int] | None:
        """(inode, mtime_ns, size) of the snapshot, or None: it changes whenever the file is replaced."""
        return stat_key(self._base(kind, item_id) + ".json")

    def journal_size(self, kind: str, item_id: str) -> int:
        """Bytes in the journal file, padding included (0 when there is none)."""
        try:
            fd = os.open(self._base(kind, item_id) + ".journal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        try:
            return size_of(fd)
        finally:
            os.close(fd)

    # -- snapshots ------------------------------------------------------------------
    def read_snapshot(self, kind: str, item_id: str) -> Snapshot | None:
        path = self._path(kind, item_id)
        try:
            with open(path, "rb") as fh:
                key = stat_key(path)
                raw = fh.read()
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptFile(f"{path.name}: not valid JSON ({exc})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            raise CorruptFile(f"{path.name}: missing data")
        if doc.get("format_version") != FORMAT_VERSION:
            raise CorruptFile(f"{path.name}: unknown format_version {doc.get('format_version')!r}")
        assert key is not None
        return Snapshot(doc["data"], int(doc.get("journal_base", 0)), key)

    @staticmethod
    def snapshot_payload(kind: str, data: dict[str, Any], journal_base: int = 0) -> bytes:
        return dumps({"format_version": FORMAT_VERSION, "kind": kind, "journal_base": journal_base, "data": data})

    def write_snapshot(self, kind: str, item_id: str, data: dict[str, Any],
                       journal_base: int = 0) -> tuple[int, int, int]:
        """Atomically replace a resource's snapshot; returns its new stat key."""
        path = self._path(kind, item_id)
        payload = self.snapshot_payload(kind, data, journal_base)
        with self.folder.writing(kind):
            self.lock(kind, item_id).bump(snapshot=True)
            write_atomic(path, payload)
            key = stat_key(path)
        assert key is not None
        return key

    def stage_snapshot(self, kind: str, item_id: str, payload: Iterable[bytes]) -> str:
        """A snapshot's payload (in pieces) written and fsynced to a temp file beside it (no lock needed; see
        `commit_snapshot`), flushed every few MiB so no burst of writeback stalls the appends' syncs."""
        with self.folder.writing(kind):
            return write_temp(self._path(kind, item_id), payload)

    def commit_snapshot(self, kind: str, item_id: str, temp: str, durable: bool = True) -> tuple[int, int, int]:
        """Rename a staged snapshot into place (hold the lock); returns its new stat key. `durable=False`: the
        caller calls `sync_folder` (the lock need not be held) before anything depends on the new name."""
        path = self._path(kind, item_id)
        with self.folder.writing(kind):
            self.lock(kind, item_id).bump(snapshot=True)
            commit_temp(temp, path, durable)
            key = stat_key(path)
        assert key is not None
        return key

    def sync_folder(self, kind: str) -> None:
        """Make the names in a kind's folder durable (after `commit_snapshot(durable=False)`)."""
        with self.folder.writing(kind):
            fsync_dir(self.root / kind)

    def discard_staged(self, temp: str) -> None:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass

    def forget(self, kind: str, item_id: str) -> None:
        """Let go of what this store keeps per resource (its lock, if not held, and open descriptors)."""
        self._forget_journal(kind, item_id)
        self._bases.pop((kind, item_id), None)
        with self._locks_guard:
            lock = self._locks.get(f"{kind}-{item_id}")
            if lock is not None and not lock.is_locked:
                del self._locks[f"{kind}-{item_id}"]
                lock.close()

    # -- removal --------------------------------------------------------------------
    def _files(self, kind: str, item_id: str) -> Iterator[Path]:
        for suffix in (".json", ".journal"):
            yield self._path(kind, item_id, suffix)

    def delete(self, kind: str, item_id: str) -> None:
        """Remove a resource's files (the snapshot goes first: it marks existence), then its lock file.

        A resource is deleted for good (its id never comes back), so its lock
        file goes too, under the lock (see `SidecarLock`): `locks/` holds as
        many files as there are resources.
        """
        paths = list(self._files(kind, item_id))
        lock = self.lock(kind, item_id)
        with self.folder.writing(kind), lock:
            if any(path.exists() for path in paths):
                lock.bump(snapshot=True)
            self._forget_journal(kind, item_id)
            for path in paths:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
            fsync_dir(self.root / kind)
            lock.unlink()

    def quarantine(self, kind: str, item_id: str, reason: str) -> Path:
        """Move a corrupt resource's files aside so everything else keeps loading."""
        paths = list(self._files(kind, item_id))  # validates kind and id before any mkdir
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        dest = self.root / "quarantine" / kind
        with self.folder.writing(kind):
            dest.mkdir(parents=True, exist_ok=True)
            if any(path.exists() for path in paths):
                self.lock(kind, item_id).bump(snapshot=True)
            self._forget_journal(kind, item_id)
            for path in paths:
                if path.exists():
                    os.replace(path, dest / f"{path.name}.{stamp}")
            fsync_dir(self.root / kind)
        log.error("quarantined corrupt %s %s: %s (files moved to %s)", kind[:-1], item_id, reason, dest)
        return dest
