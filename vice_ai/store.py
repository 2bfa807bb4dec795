"""Files under the data folder: atomic JSON snapshots, append-only journals, sidecar locks.

Layout::

    <data>/documents/<id>.json     snapshot of a document (whole-file atomic replace)
    <data>/sessions/<id>.json      snapshot of a chat session
    <data>/sessions/<id>.journal   records appended since that snapshot, one JSON per line
    <data>/locks/<kind>-<id>.lock  filelock sidecars (never the data files themselves)
    <data>/quarantine/             corrupt files, moved aside

A snapshot is written to a temp file in the same folder, flushed, fsynced,
renamed over the old one, and the folder is fsynced: a crash leaves the old
file or the new one. A journal append is one write of whole lines followed by
fdatasync; a torn last line (a crash mid-append, never acknowledged) is cut off
by the next writer. Each journal record has a `seq`; a snapshot remembers the
last seq it contains, so records that survive a compaction crash are skipped.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

from .models import FORMAT_VERSION, is_id

log = logging.getLogger(__name__)

KINDS = ("documents", "sessions")


class CorruptFile(Exception):
    """A data file that cannot be parsed or has an unknown format."""


@dataclass(frozen=True)
class Snapshot:
    data: dict[str, Any]
    journal_base: int
    key: tuple[int, int, int]  # (inode, mtime_ns, size): changes whenever the file is replaced


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Store:
    """Durable files for documents and sessions; callers hold `lock()` around read-modify-write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in (*KINDS, "locks", "quarantine"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, FileLock] = {}
        self._locks_guard = threading.Lock()

    # -- paths and locks ------------------------------------------------------------
    def _path(self, kind: str, item_id: str, suffix: str = ".json") -> Path:
        if kind not in KINDS or not is_id(item_id):
            # Ids come from URLs: never let one name a file outside its folder.
            raise ValueError(f"bad {kind} id {item_id!r}")
        return self.root / kind / f"{item_id}{suffix}"

    def lock(self, kind: str, item_id: str) -> FileLock:
        """The cross-process lock of one resource (hold a thread lock around it too)."""
        self._path(kind, item_id)
        name = f"{kind}-{item_id}"
        with self._locks_guard:
            lock = self._locks.get(name)
            if lock is None:
                lock = FileLock(self.root / "locks" / f"{name}.lock", thread_local=False, poll_interval=0.002)
                self._locks[name] = lock
            return lock

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
        return _stat_key(self._path(kind, item_id))

    def journal_size(self, kind: str, item_id: str) -> int:
        try:
            return self._path(kind, item_id, ".journal").stat().st_size
        except FileNotFoundError:
            return 0

    # -- snapshots ------------------------------------------------------------------
    def read_snapshot(self, kind: str, item_id: str) -> Snapshot | None:
        path = self._path(kind, item_id)
        try:
            with open(path, "rb") as fh:
                key = _stat_key(path)
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

    def write_snapshot(self, kind: str, item_id: str, data: dict[str, Any], journal_base: int = 0) -> tuple[int, int, int]:
        """Atomically replace a resource's snapshot; returns its new stat key."""
        path = self._path(kind, item_id)
        payload = dumps({"format_version": FORMAT_VERSION, "kind": kind, "journal_base": journal_base, "data": data})
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(path.parent)
        key = _stat_key(path)
        assert key is not None
        return key

    # -- journals -------------------------------------------------------------------
    def read_journal(self, kind: str, item_id: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Records from `offset` to the end, and the offset after the last whole line.

        A torn last line is cut off the file: call with the resource's lock held.
        """
        path = self._path(kind, item_id, ".journal")
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                raw = fh.read()
        except FileNotFoundError:
            return [], 0
        end = raw.rfind(b"\n") + 1
        records: list[dict[str, Any]] = []
        pos = offset
        for line in raw[:end].split(b"\n")[:-1]:
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise CorruptFile(f"{path.name}: bad record at byte {pos} ({exc})") from exc
            if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
                raise CorruptFile(f"{path.name}: bad record at byte {pos}")
            records.append(record)
            pos += len(line) + 1
        if end < len(raw):
            # An append that a crash cut short: never acknowledged. Cut it off so
            # the next append starts on a clean line.
            log.warning("dropping torn tail of %s at byte %d", path.name, pos)
            with open(path, "r+b") as fh:
                fh.truncate(pos)
                os.fsync(fh.fileno())
        return records, pos

    def append_journal(self, kind: str, item_id: str, records: list[dict[str, Any]]) -> int:
        """Durably append records (one write, then fdatasync); returns the new journal size."""
        path = self._path(kind, item_id, ".journal")
        data = b"".join(dumps(r) + b"\n" for r in records)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(f"short write to {path.name}")
                os.fdatasync(fd)
            except BaseException:
                os.ftruncate(fd, start)  # leave no half record behind
                raise
            end = start + len(data)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)
        return end

    def reset_journal(self, kind: str, item_id: str) -> None:
        """Empty a journal after its records went into a snapshot."""
        path = self._path(kind, item_id, ".journal")
        if path.exists():
            with open(path, "r+b") as fh:
                fh.truncate(0)
                os.fsync(fh.fileno())

    # -- removal --------------------------------------------------------------------
    def _files(self, kind: str, item_id: str) -> Iterator[Path]:
        for suffix in (".json", ".journal"):
            yield self._path(kind, item_id, suffix)

    def delete(self, kind: str, item_id: str) -> None:
        """Remove a resource's files (snapshot last goes first: it marks existence)."""
        for path in self._files(kind, item_id):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        _fsync_dir(self.root / kind)

    def quarantine(self, kind: str, item_id: str, reason: str) -> Path:
        """Move a corrupt resource's files aside so everything else keeps loading."""
        paths = list(self._files(kind, item_id))  # validates kind and id before any mkdir
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        dest = self.root / "quarantine" / kind
        dest.mkdir(parents=True, exist_ok=True)
        for path in paths:
            if path.exists():
                os.replace(path, dest / f"{path.name}.{stamp}")
        _fsync_dir(self.root / kind)
        log.error("quarantined corrupt %s %s: %s (files moved to %s)", kind[:-1], item_id, reason, dest)
        return dest
