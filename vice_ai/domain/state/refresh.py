"""Bringing a cached session or document up to date with its files, which another writer may have changed.

Both kinds are a snapshot plus a journal of numbered records. The cached copy
is current while the store's generation counters are those it was read at; if
the snapshot is the same (first counter) only the records past its mark are
applied, else, or when those records do not follow it (`Moved`), it is read
again whole. A file that cannot be read as its kind is quarantined.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ...storage.files import CorruptFile
from ...storage.journal import JournalMoved
from ...storage.store import Store
from .table import DiskMark, ResourceTable

# What building a model from parsed JSON of the wrong shape raises.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)

T = TypeVar("T")
# (id, cached copy, its mark) -> the copy with the records past the mark (the mark moved); raises Moved.
CatchUp = Callable[[str, T, DiskMark], T]


class Moved(Exception):
    """A resource's files are not where the in-memory copy left them."""


def records_after(store: Store, kind: str, rid: str, mark: DiskMark) -> tuple[list[dict[str, Any]], int, int]:
    """The journal records that follow `mark`, the journal's end offset and the last record's seq.

    Records the snapshot already holds are skipped (left by a compaction that stopped
    before emptying the journal); a gap in the numbering means these are not the
    records that follow what the copy holds (Moved).
    """
    try:
        records, offset = store.read_journal(kind, rid, mark.offset)
    except JournalMoved as exc:
        raise Moved(str(exc)) from exc
    seq, fresh = mark.seq, []
    for record in records:
        if record["seq"] <= seq:
            continue
        if record["seq"] != seq + 1:
            raise Moved(f"record {record['seq']} follows {seq}")
        fresh.append(record)
        seq = record["seq"]
    return fresh, offset, seq


def load(store: Store, kind: str, rid: str, from_dict: Callable[[dict[str, Any]], T],
         catch_up: CatchUp[T]) -> tuple[T, DiskMark] | None:
    """A resource from its snapshot and the whole of its journal (None: no snapshot)."""
    snap = store.read_snapshot(kind, rid)
    if snap is None:
        return None
    mark = DiskMark(snap.key, 0, snap.journal_base)
    try:
        return catch_up(rid, from_dict(snap.data), mark), mark
    except Moved as exc:
        raise CorruptFile(f"{rid}.journal: {exc}") from exc


def refreshed(store: Store, table: ResourceTable, kind: str, rid: str,
              from_dict: Callable[[dict[str, Any]], T], catch_up: CatchUp[T],
              shape_reason: Callable[[BaseException], str]) -> T | None:
    """The resource as its files have it now (cached when nothing changed), or None when it is gone or unreadable."""
    generations = store.generations(kind, rid)
    cached, mark = table.get(kind, rid)
    if cached is not None and mark is not None and mark.generations == generations:
        return cached  # nobody wrote since we last looked
    try:
        loaded = None
        if cached is not None and mark is not None and mark.generations[0] == generations[0]:
            try:
                loaded = catch_up(rid, cached, mark), mark
            except Moved:
                pass  # not the records that follow ours (a journal reset no counter showed): read it all again
        if loaded is None:
            loaded = load(store, kind, rid, from_dict, catch_up)
    except (CorruptFile, *SHAPE_ERRORS) as exc:
        store.quarantine(kind, rid, str(exc) if isinstance(exc, CorruptFile) else shape_reason(exc))
        table.drop(kind, rid)
        return None
    if loaded is None:
        table.drop(kind, rid)
        store.drop_lock(kind, rid)
        return None
    found, mark = loaded
    mark.generations = generations
    table.put(kind, rid, found, mark)
    return found
