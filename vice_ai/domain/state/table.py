"""What `AppState` keeps per resource: a lock while it is in use, and a bounded LRU of loaded ones.

A resource's entry (its thread lock) exists while someone holds or waits for
it (`users`, counted under one guard) or while the resource is loaded. When
the last user lets go of something not loaded, or something is evicted or
deleted, the entry goes and the store lets go of its lock file descriptor and
journal descriptor: nothing here grows with the number of ids ever seen.

Eviction takes the least recently used loaded resources that nobody holds and
that `pinned(kind, id)` does not keep (the engine pins a session whose reply
is being generated); evicted ones are read again from their files on demand.
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ...storage.locks import Exclusive
from ...storage.store import Store

KINDS = ("documents", "sessions")


@dataclass
class DiskMark:
    """How far the in-memory copy of a resource has read its files."""

    key: tuple[int, int, int]  # of the snapshot it was built from (its size sets when to compact)
    offset: int = 0
    seq: int = 0
    generations: tuple[int, int] = (-1, -1)  # the lock file's counters when it was last current


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users = 0


class Held:
    """Holding one resource: its entry counted as used, its thread lock, then its file lock."""

    __slots__ = ("_table", "_key", "_exclusive")

    def __init__(self, table: ResourceTable, kind: str, item_id: str) -> None:
        self._table = table
        self._key = (kind, item_id)

    def __enter__(self) -> None:
        entry = self._table.use(self._key)
        try:
            self._exclusive = Exclusive(entry.lock, self._table.store.lock(*self._key))
            self._exclusive.__enter__()
        except BaseException:
            self._table.done(self._key)
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._exclusive.__exit__(*exc)
        finally:
            self._table.done(self._key)


class ResourceTable:
    """Locks in use and the loaded documents and sessions (an LRU each, of `sizes[kind]` at most)."""

    def __init__(self, store: Store, sizes: dict[str, int]) -> None:
        self.store = store
        self.sizes = sizes
        self.guard = threading.Lock()
        self.caches: dict[str, OrderedDict[str, Any]] = {kind: OrderedDict() for kind in KINDS}
        self.marks: dict[str, dict[str, DiskMark]] = {kind: {} for kind in KINDS}
        self._entries: dict[tuple[str, str], _Entry] = {}
        self.pinned: Callable[[str, str], bool] = lambda kind, item_id: False
        self.on_evict: Callable[[str, str], None] = lambda kind, item_id: None  # after it is unloaded

    def __len__(self) -> int:
        return len(self._entries)

    # -- locks ----------------------------------------------------------------------
    def use(self, key: tuple[str, str]) -> _Entry:
        with self.guard:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            entry.users += 1
            return entry

    def done(self, key: tuple[str, str]) -> None:
        with self.guard:
            entry = self._entries.get(key)
            if entry is None:
                return
            entry.users -= 1
            if entry.users > 0 or (key[0] in self.caches and key[1] in self.caches[key[0]]):
                return
            del self._entries[key]
        self.store.forget(*key)

    @contextmanager
    def reading(self, kind: str, item_id: str) -> Iterator[None]:
        """A resource's thread lock alone, its entry counted as used meanwhile (no file lock)."""
        key = (kind, item_id)
        entry = self.use(key)
        try:
            with entry.lock:
                yield
        finally:
            self.done(key)

    # -- the loaded resources -------------------------------------------------------
    def get(self, kind: str, item_id: str) -> tuple[Any, DiskMark | None]:
        with self.guard:
            cache = self.caches[kind]
            found = cache.get(item_id)
            if found is not None:
                cache.move_to_end(item_id)
            return found, self.marks[kind].get(item_id)

    def put(self, kind: str, item_id: str, item: Any, mark: DiskMark) -> None:
        """Keep a loaded resource (call while holding it), then evict beyond the bound."""
        with self.guard:
            cache = self.caches[kind]
            cache[item_id] = item
            cache.move_to_end(item_id)
            self.marks[kind][item_id] = mark
            over = len(cache) - self.sizes[kind]
            candidates = list(itertools.islice(cache, over + 8)) if over > 0 else []
        if candidates:
            self._evict(kind, candidates, over)

    def drop(self, kind: str, item_id: str) -> None:
        """Forget a loaded resource (deleted, or found gone); its entry goes when its last user lets go."""
        with self.guard:
            self.caches[kind].pop(item_id, None)
            self.marks[kind].pop(item_id, None)

    def _evict(self, kind: str, candidates: list[str], over: int) -> None:
        # `pinned` is asked without the guard: it may take its owner's locks.
        free = [item_id for item_id in candidates if not self.pinned(kind, item_id)]
        evicted: list[str] = []
        with self.guard:
            cache = self.caches[kind]
            for item_id in free:
                if len(evicted) >= over:
                    break
                entry = self._entries.get((kind, item_id))
                if entry is not None and entry.users > 0:
                    continue  # someone holds or waits for it
                if cache.pop(item_id, None) is None:
                    continue
                self.marks[kind].pop(item_id, None)
                self._entries.pop((kind, item_id), None)
                evicted.append(item_id)
        for item_id in evicted:
            self.store.forget(kind, item_id)
            self.on_evict(kind, item_id)

    def evict_all(self) -> None:
        """Unload everything nobody holds (for tests and memory pressure)."""
        for kind in KINDS:
            with self.guard:
                ids = list(self.caches[kind])
            self._evict(kind, ids, len(ids))
