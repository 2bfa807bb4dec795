"""The padded append-only journal format: reading records, finding the end, growing ahead, undoing a failed append.

A journal is whole lines followed by zero padding (JSON never contains a zero
byte, so the first one marks the end). An append is one write of whole lines at
that end followed by fdatasync; the file is grown ahead in zero-filled steps,
so most appends overwrite allocated blocks and the sync has no file size to
commit (the trick SQLite's reused WAL gets for free). A torn last line (a crash
mid-append, never acknowledged) is zeroed by the next reader. Each record has a
`seq`; a snapshot remembers the last seq it contains, so records that survive a
compaction crash are skipped.

Everything here works on an open descriptor; `store.Store` owns the paths,
the locks and which descriptors stay open.
"""
from __future__ import annotations

import errno
import json
import logging
import os
from typing import Any

from .files import CorruptFile

log = logging.getLogger(__name__)

# Journals grow ahead by their own size, in 4 KiB steps, at most 1 MiB at a time.
JOURNAL_STEP = 4096
JOURNAL_STEP_MAX = 1 << 20


class JournalMoved(Exception):
    """A journal no longer has a record boundary where the caller last read up to."""


def size_of(fd: int) -> int:
    """A file's size by seeking, never by stat.

    On recent Linux (multigrain timestamps, 6.13+) a stat makes the next write
    stamp the inode with a fine-grained time, and the fdatasync after it then
    costs ~40% more on ext4: the hot path never stats the journal.
    """
    return os.lseek(fd, 0, os.SEEK_END)


def grown_size(stop: int, size: int) -> int:
    """The size to pad a journal of `size` bytes to when an append ends at `stop` past it."""
    return -(-(stop + min(max(size, JOURNAL_STEP), JOURNAL_STEP_MAX)) // JOURNAL_STEP) * JOURNAL_STEP


def read_until_zero(fd: int, offset: int) -> bytes:
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


def parse_records(raw: bytes, path: str, offset: int) -> list[dict[str, Any]]:
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


def clear_padding(fd: int, path: str, start: int) -> bool:
    """Zero whatever a write lost in a power cut left past the end; True if anything was."""
    stale = os.pread(fd, max(0, size_of(fd) - start), start)
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


def ends_at(fd: int, at: int) -> bool:
    """True if the journal's records end exactly at `at` (a newline before, padding or EOF after)."""
    if at == 0:
        return os.pread(fd, 1, 0) in (b"", b"\0")
    around = os.pread(fd, 2, at - 1)
    return around[:1] == b"\n" and around[1:] in (b"", b"\0")


def write_all(fd: int, data: bytes, offset: int) -> None:
    """pwrite all of `data` at `offset`: a short write (a disk filling up) goes on, so the OS says why it stopped."""
    done = os.pwrite(fd, data, offset)
    while done < len(data):
        more = os.pwrite(fd, data[done:], offset + done)  # ENOSPC on a full disk
        if more <= 0:
            raise OSError(errno.EIO, f"short write at byte {offset + done}")
        done += more


def undo_append(fd: int, at: int, stop: int, size: int) -> None:
    """After a failed append: give the file back its old size and zero what was written."""
    try:
        if stop > size:
            os.ftruncate(fd, size)
        if min(stop, size) > at:
            os.pwrite(fd, bytes(min(stop, size) - at), at)
    except OSError:
        pass  # the append already failed; a leftover is a torn tail the next reader clears
