"""Files under the data folder: atomic JSON snapshots, append-only journals, sidecar locks.

Layout::

    <data>/documents/<id>.json     snapshot of a document (whole-file atomic replace)
    <data>/sessions/<id>.json      snapshot of a chat session
    <data>/sessions/<id>.journal   records appended since that snapshot, one JSON per line
    <data>/locks/<kind>-<id>.lock  filelock sidecars (never the data files themselves)
    <data>/quarantine/             corrupt files, moved aside

A snapshot is written to a temp file in the same folder, flushed, fsynced,
renamed over the old one, and the folder is fsynced: a crash leaves the old
file or the new one. A journal is whole lines followed by zero padding (JSON
never contains a zero byte, so the first one marks the end). An append is one
write of whole lines at that end followed by fdatasync; the file is grown ahead
in zero-filled steps, so most appends overwrite allocated blocks and the sync
has no file size to commit (the trick SQLite's reused WAL gets for free). A
torn last line (a crash mid-append, never acknowledged) is zeroed by the next
reader. Each journal record has a `seq`; a snapshot remembers the last seq it
contains, so records that survive a compaction crash are skipped.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator


from .locks import SidecarLock
from ..domain.models import FORMAT_VERSION, is_id

log = logging.getLogger(__name__)

KINDS = ("documents", "sessions", "users")


class CorruptFile(Exception):
    """A data file that cannot be parsed or has an unknown format."""


class JournalMoved(Exception):
    """A journal no longer has a record boundary where the caller last read up to."""


@dataclass(frozen=True)
class Snapshot:
    data: dict[str, Any]
    journal_base: int
    key: tuple[int, int, int]  # (inode, mtime_ns, size): changes whenever the file is replaced


def _stat_key(path: str | Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _fsync_dir(folder: str | Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace a file so a crash leaves the old or the new content: temp file, fsync, rename, fsync folder."""
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


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, as every data file stores it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# A snapshot temp file older than this belongs to a writer that died.
STALE_TEMP_SECONDS = 600.0

# Journal descriptors a store keeps open between appends (more are opened per use).
KEEP_JOURNALS_OPEN = 256

# Journals grow ahead by their own size, in 4 KiB steps, at most 1 MiB at a time.
JOURNAL_STEP = 4096
JOURNAL_STEP_MAX = 1 << 20


def _size(fd: int) -> int:
    """A file's size by seeking, never by stat.

    On recent Linux (multigrain timestamps, 6.13+) a stat makes the next write
    stamp the inode with a fine-grained time, and the fdatasync after it then
    costs ~40% more on ext4: the hot path never stats the journal.
    """
    return os.lseek(fd, 0, os.SEEK_END)


def _read_until_zero(fd: int, offset: int) -> bytes:
    """Bytes from `offset` up to the first zero byte (the padding) or the end of the file."""
    chunks = []
    size = JOURNAL_STEP
    while True:
        block = os.pread(fd, size, offset)
        nul = block.find(0)
        if nul >= 0:
            chunks.append(block[:nul])
            break
        chunks.append(block)
        if len(block) < size:
            break
        offset += len(block)
        size = min(size * 2, JOURNAL_STEP_MAX)
    return b"".join(chunks)


def _parse_records(raw: bytes, path: str, offset: int) -> list[dict[str, Any]]:
    """Whole journal lines -> records; a bad one means the file is corrupt."""
    records: list[dict[str, Any]] = []
    pos = offset
    for line in raw.split(b"\n")[:-1]:
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise CorruptFile(f"{os.path.basename(path)}: bad record at byte {pos} ({exc})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise CorruptFile(f"{os.path.basename(path)}: bad record at byte {pos}")
        records.append(record)
        pos += len(line) + 1
    return records


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and isinstance(record.get("seq"), int)


def _ends_at(fd: int, at: int) -> bool:
    """True if the journal's records end exactly at `at` (a newline before, padding or EOF after)."""
    if at == 0:
        return os.pread(fd, 1, 0) in (b"", b"\0")
    around = os.pread(fd, 2, at - 1)
    return around[:1] == b"\n" and around[1:] in (b"", b"\0")


def _undo_append(fd: int, at: int, stop: int, size: int) -> None:
    """After a failed append: give the file back its old size and zero what was written."""
    try:
        if stop > size:
            os.ftruncate(fd, size)
        if min(stop, size) > at:
            os.pwrite(fd, bytes(min(stop, size) - at), at)
    except OSError:
        pass  # the append already failed; a leftover is a torn tail the next reader clears


class Store:
    """Durable files for documents and sessions; callers hold `lock()` around read-modify-write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in (*KINDS, "locks", "quarantine"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
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
        cutoff = time.time() - older_than
        removed = 0
        for kind in KINDS:
            with os.scandir(self.root / kind) as entries:
                for entry in entries:
                    if entry.name.startswith(".") and entry.name.endswith(".tmp"):
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
                lock = self._locks[name] = SidecarLock(os.path.join(self.root, "locks", f"{name}.lock"))
            return lock

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
        return _stat_key(self._base(kind, item_id) + ".json")

    def journal_size(self, kind: str, item_id: str) -> int:
        """Bytes in the journal file, padding included (0 when there is none)."""
        try:
            fd = os.open(self._base(kind, item_id) + ".journal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        try:
            return _size(fd)
        finally:
            os.close(fd)

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
        self.lock(kind, item_id).bump(snapshot=True)
        write_atomic(path, payload)
        key = _stat_key(path)
        assert key is not None
        return key

    # -- journals -------------------------------------------------------------------
    def _journal_fd(self, kind: str, item_id: str, create: bool) -> tuple[int, bool] | None:
        """A read-write descriptor of a journal, and whether the store keeps it (else close it after use)."""
        key = (kind, item_id)
        generation = self.lock(kind, item_id).generations()[0]
        kept = self._journals.get(key)
        if kept is not None:
            if kept[1] == generation:
                return kept[0], True
            # The snapshot moved (compaction, delete, quarantine, maybe by another
            # process): the name may now be another file.
            self._forget_journal(kind, item_id)
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self._base(kind, item_id) + ".journal", flags, 0o644)
        except FileNotFoundError:
            return None
        if len(self._journals) < KEEP_JOURNALS_OPEN:
            self._journals[key] = (fd, generation)
            return fd, True
        return fd, False

    def _forget_journal(self, kind: str, item_id: str) -> None:
        kept = self._journals.pop((kind, item_id), None)
        if kept is not None:
            os.close(kept[0])

    def read_journal(self, kind: str, item_id: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Records from `offset` to the end of the journal, and the offset after the last whole one.

        A journal is whole lines followed by zero padding. A torn last line (a
        crash mid-append, never acknowledged) is zeroed so the next append starts
        clean; a full read (offset 0) also clears bytes a lost write left in the
        padding. Call with the resource's lock held.
        """
        path = self._base(kind, item_id) + ".journal"
        opened = self._journal_fd(kind, item_id, create=False)
        if opened is None:
            return [], 0
        fd, kept = opened
        try:
            if offset:
                # Read from one byte early: the newline there proves the caller's
                # offset is still a record boundary of this file.
                raw = _read_until_zero(fd, offset - 1)
                if raw[:1] != b"\n":
                    raise JournalMoved(f"{os.path.basename(path)} has no record boundary at byte {offset}")
                raw = raw[1:]
            else:
                raw = _read_until_zero(fd, 0)
            end = raw.rfind(b"\n") + 1
            records = _parse_records(raw[:end], path, offset)
            pos = offset + end
            dirty = False
            if end < len(raw):
                log.warning("dropping torn tail of %s at byte %d", os.path.basename(path), pos)
                os.pwrite(fd, bytes(len(raw) - end), pos)
                dirty = True
            if offset == 0:
                dirty = self._clear_padding(fd, path, offset + len(raw)) or dirty
            if dirty:
                os.fdatasync(fd)
        finally:
            if not kept:
                os.close(fd)
        return records, pos

    @staticmethod
    def _clear_padding(fd: int, path: str, start: int) -> bool:
        """Zero whatever a write lost in a power cut left past the end; True if anything was."""
        stale = os.pread(fd, max(0, _size(fd) - start), start)
        if not stale.strip(b"\0"):
            return False
        for segment in stale.split(b"\0"):
            for line in segment.split(b"\n")[:-1]:
                if _is_record(line):
                    # Whole records behind a gap are not a torn write: let a human look.
                    raise CorruptFile(f"{os.path.basename(path)}: records after a gap at byte {start}")
        log.warning("clearing stale bytes past the end of %s (byte %d)", os.path.basename(path), start)
        os.pwrite(fd, bytes(len(stale)), start)
        return True

    def append_journal(
        self, kind: str, item_id: str, records: list[dict[str, Any]], at: int | None = None
    ) -> int:
        """Durably append records (one write, then fdatasync); returns the offset after them.

        `at` is where the journal ends, as the caller last read it (found by
        scanning when None); an append never writes anywhere else. The file is
        grown ahead in zero-filled steps so that most appends overwrite blocks
        already allocated: fdatasync then has no file size to commit.
        """
        path = self._base(kind, item_id) + ".journal"
        data = b"".join(dumps(r) + b"\n" for r in records)
        self.lock(kind, item_id).bump(snapshot=False)
        opened = self._journal_fd(kind, item_id, create=True)
        assert opened is not None
        fd, kept = opened
        try:
            size = _size(fd)
            if at is None:
                raw = _read_until_zero(fd, 0)
                at = raw.rfind(b"\n") + 1
            elif not _ends_at(fd, at):
                raise RuntimeError(f"{os.path.basename(path)} does not end at byte {at}")
            stop = at + len(data)
            payload = data
            if stop > size:
                grown = -(-(stop + min(max(size, JOURNAL_STEP), JOURNAL_STEP_MAX)) // JOURNAL_STEP) * JOURNAL_STEP
                payload = data + bytes(grown - stop)
            try:
                if os.pwrite(fd, payload, at) != len(payload):
                    raise OSError(errno.EIO, f"short write to {os.path.basename(path)}")
                os.fdatasync(fd)
            except BaseException:
                _undo_append(fd, at, stop, size)
                raise
        finally:
            if not kept:
                os.close(fd)
        if size == 0:
            # The file may be new: make its name durable too. (Also runs after a
            # compaction emptied the journal: one extra, cheap, directory fsync.)
            _fsync_dir(os.path.dirname(path))
        return stop

    def reset_journal(self, kind: str, item_id: str) -> None:
        """Empty a journal after its records went into a snapshot."""
        path = self._path(kind, item_id, ".journal")
        if path.exists():
            self.lock(kind, item_id).bump(snapshot=False)
            with open(path, "r+b") as fh:
                fh.truncate(0)
                os.fsync(fh.fileno())

    # -- removal --------------------------------------------------------------------
    def _files(self, kind: str, item_id: str) -> Iterator[Path]:
        for suffix in (".json", ".journal"):
            yield self._path(kind, item_id, suffix)

    def delete(self, kind: str, item_id: str) -> None:
        """Remove a resource's files (the snapshot goes first: it marks existence)."""
        paths = list(self._files(kind, item_id))
        if any(path.exists() for path in paths):
            self.lock(kind, item_id).bump(snapshot=True)
        self._forget_journal(kind, item_id)
        for path in paths:
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
        if any(path.exists() for path in paths):
            self.lock(kind, item_id).bump(snapshot=True)
        self._forget_journal(kind, item_id)
        for path in paths:
            if path.exists():
                os.replace(path, dest / f"{path.name}.{stamp}")
        _fsync_dir(self.root / kind)
        log.error("quarantined corrupt %s %s: %s (files moved to %s)", kind[:-1], item_id, reason, dest)
        return dest
