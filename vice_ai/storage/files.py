"""Whole data files: atomic replace (temp file, fsync, rename, fsync of the folder), the JSON encoding, stat keys.

A file is written to a temp file in the same folder, flushed, fsynced, renamed
over the old one, and the folder is fsynced: a crash leaves the old file or the
new one, plus at worst a stale temp file (see `is_temp_name`).
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# A long temp file is synced this often while it is written (no large burst of writeback at the end).
SYNC_EVERY = 1 << 20

# Every data file says which layout it has ({"format_version": 1, "data": ...}).
FORMAT_VERSION = 1


def is_id(value: str) -> bool:
    """True for a canonical uuid string, the only ids the server hands out (nothing else names a file)."""
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, TypeError, AttributeError):
        return False


class CorruptFile(Exception):
    """A data file that cannot be parsed or has an unknown format."""


def stat_key(path: str | Path) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of a file, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def fsync_dir(folder: str | Path) -> None:
    """Make the names in a folder (a new, renamed or removed file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(path: Path, payload: bytes | Iterable[bytes]) -> str:
    """The first half of `write_atomic`: `payload` (bytes, or pieces of it) in a fsynced temp file beside
    `path`; returns its name. Long payloads are synced every `SYNC_EVERY` bytes as they are written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            unsynced = 0
            for piece in [payload] if isinstance(payload, bytes) else payload:
                fh.write(piece)
                unsynced += len(piece)
                if unsynced >= SYNC_EVERY:
                    fh.flush()
                    os.fdatasync(fh.fileno())
                    unsynced = 0
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def commit_temp(tmp: str, path: Path, durable: bool = True) -> None:
    """The second half: rename the temp file over `path`, then make the name durable (`durable=False`: the
    caller syncs the folder itself, before anything depends on the new name)."""
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace a file so a crash leaves the old or the new content: temp file, fsync, rename, fsync folder."""
    commit_temp(write_temp(path, payload), path)


def is_temp_name(name: str) -> bool:
    """True for the name of a temp file `write_atomic` creates (a killed writer may leave one behind)."""
    return name.startswith(".") and name.endswith(".tmp")


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, as every data file stores it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
