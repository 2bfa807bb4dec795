"""The journal half of the `Store`: open descriptors, reading, durable appends, emptying after a compaction.

See `journal` for the file format; the `Store` owns the paths and the locks.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .failures import READ_ONLY_ERRNOS
from .files import commit_temp, dumps, fsync_dir, write_atomic, write_temp
from .journal import (
    JournalMoved,
    clear_padding,
    ends_at,
    grown_size,
    parse_records,
    read_until_zero,
    size_of,
    undo_append,
    write_all,
)

if TYPE_CHECKING:
    from pathlib import Path

    from .failures import DataFolder
    from .locks import SidecarLock

log = logging.getLogger(__name__)

# Journal descriptors a store keeps open between appends (more are opened per use).
KEEP_JOURNALS_OPEN = 256


class JournalFiles:
    """Mixed into `Store`: everything about `<kind>/<id>.journal`."""

    folder: DataFolder
    _journals: dict[tuple[str, str], tuple[int, int]]
    _bases: dict[tuple[str, str], str]

    def _base(self, kind: str, item_id: str) -> str:
        raise NotImplementedError

    def _path(self, kind: str, item_id: str, suffix: str = ".json") -> Path:
        raise NotImplementedError

    def lock(self, kind: str, item_id: str) -> SidecarLock:
        raise NotImplementedError
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
        path = self._base(kind, item_id) + ".journal"
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if create or exc.errno not in READ_ONLY_ERRNOS:
                raise
            # A read-only folder: read it read-only (never kept: a later append needs read-write).
            try:
                return os.open(path, os.O_RDONLY | os.O_CLOEXEC), False
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
                raw = read_until_zero(fd, offset - 1)
                if raw[:1] != b"\n":
                    raise JournalMoved(f"{os.path.basename(path)} has no record boundary at byte {offset}")
                raw = raw[1:]
            else:
                raw = read_until_zero(fd, 0)
            end = raw.rfind(b"\n") + 1
            records = parse_records(raw[:end], path, offset)
            pos = offset + end
            try:
                dirty = False
                if end < len(raw):
                    log.warning("dropping torn tail of %s at byte %d", os.path.basename(path), pos)
                    os.pwrite(fd, bytes(len(raw) - end), pos)
                    dirty = True
                if offset == 0:
                    dirty = clear_padding(fd, path, offset + len(raw)) or dirty
                if dirty:
                    os.fdatasync(fd)
            except OSError as exc:
                # A read never fails for a repair it could not make (a full disk, a
                # read-only folder): the records are read; the next read tries again.
                log.warning("could not clear the tail of %s (will retry): %s", os.path.basename(path), exc)
        finally:
            if not kept:
                os.close(fd)
        return records, pos

    def append_journal(
        self, kind: str, item_id: str, records: list[dict[str, Any]], at: int | None = None
    ) -> int:
        """Durably append records (one write, then fdatasync); returns the offset after them.

        `at` is where the journal ends, as the caller last read it (found by
        scanning when None); an append never writes anywhere else. The file is
        grown ahead in zero-filled steps so that most appends overwrite blocks
        already allocated: fdatasync then has no file size to commit.
        """
        with self.folder.writing(kind):
            return self._append(kind, item_id, records, at)

    def _append(self, kind: str, item_id: str, records: list[dict[str, Any]], at: int | None) -> int:
        path = self._base(kind, item_id) + ".journal"
        data = b"".join(dumps(r) + b"\n" for r in records)
        self.lock(kind, item_id).bump(snapshot=False)
        opened = self._journal_fd(kind, item_id, create=True)
        assert opened is not None
        fd, kept = opened
        try:
            size = size_of(fd)
            if at is None:
                raw = read_until_zero(fd, 0)
                at = raw.rfind(b"\n") + 1
            elif not ends_at(fd, at):
                raise RuntimeError(f"{os.path.basename(path)} does not end at byte {at}")
            stop = at + len(data)
            payload = data
            if stop > size:
                payload = data + bytes(grown_size(stop, size) - stop)
            try:
                write_all(fd, payload, at)
                os.fdatasync(fd)
            except BaseException:
                undo_append(fd, at, stop, size)
                raise
        finally:
            if not kept:
                os.close(fd)
        if size == 0:
            # The file may be new: make its name durable too. (Also runs after a
            # compaction emptied the journal: one extra, cheap, directory fsync.)
            fsync_dir(os.path.dirname(path))
        return stop

    def stage_journal(self, kind: str, item_id: str, tail: bytes) -> str:
        """A journal holding only `tail`, written and fsynced to a temp file beside it (no lock needed)."""
        with self.folder.writing(kind):
            return write_temp(self._path(kind, item_id, ".journal"), tail)

    def commit_journal(self, kind: str, item_id: str, temp: str) -> None:
        """Rename a staged journal into place (hold the lock; nothing may have been appended since its tail).

        Counted as a snapshot write: the journal file is another one now, and every process's offsets in it
        (and journal descriptors, see `_journal_fd`) belong to the old one."""
        with self.folder.writing(kind):
            self.lock(kind, item_id).bump(snapshot=True)
            self._forget_journal(kind, item_id)
            commit_temp(temp, self._path(kind, item_id, ".journal"))

    def reset_journal(self, kind: str, item_id: str, tail: bytes = b"") -> None:
        """Empty a journal after its records went into a snapshot, keeping `tail` (records appended since
        the snapshot was taken: the file is then replaced atomically, never rewritten in place)."""
        path = self._path(kind, item_id, ".journal")
        if path.exists() or tail:
            with self.folder.writing(kind):
                self.lock(kind, item_id).bump(snapshot=True)  # a new journal: see `commit_journal`
                if tail:
                    self._forget_journal(kind, item_id)
                    write_atomic(path, tail)
                    return
                with open(path, "r+b") as fh:
                    fh.truncate(0)
                    os.fsync(fh.fileno())

    def journal_bytes(self, kind: str, item_id: str, start: int, stop: int) -> bytes:
        """The raw records between two offsets (whole lines, as `read_journal` returned them)."""
        opened = self._journal_fd(kind, item_id, create=False)
        if opened is None or stop <= start:
            if opened is not None and not opened[1]:
                os.close(opened[0])
            return b""
        fd, kept = opened
        try:
            return os.pread(fd, stop - start, start)
        finally:
            if not kept:
                os.close(fd)
