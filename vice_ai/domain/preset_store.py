"""Users' instruction presets on disk: one JSON file per preset under <data>/presets/.

Files are the store's atomic snapshots, written under the preset's sidecar
lock. Every process keeps the presets it has read and re-reads a file only
when it changed (its stat or its lock's write counter moved), so a preset
saved by another process sharing the data folder is seen at the next read.
A corrupt file is moved to quarantine and the others keep loading.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..storage.files import FORMAT_VERSION, CorruptFile
from ..storage.store import Store
from .models import is_id, now

KIND = "presets"


@dataclass
class Preset:
    """A user's preset: the settings a new chat starts with, and the documents whose readers may use it."""

    id: str
    owner: str
    name: str
    system_prompt: str = ""
    model: str | None = None
    temperature: float | None = None
    # None: the chat's default (every built-in tool); []: none.
    tools: list[str] | None = None
    # Documents of the owner whose readers see (and editors may start chats with) this preset.
    shared_documents: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preset:
        names = {f.name for f in fields(cls)}
        preset = cls(**{k: v for k, v in data.items() if k in names})
        if not (isinstance(preset.name, str) and isinstance(preset.owner, str)
                and isinstance(preset.system_prompt, str) and isinstance(preset.shared_documents, list)):
            raise ValueError("a preset needs a name, an owner, a system prompt and a list of shared documents")
        return preset


class PresetStore:
    """Reads, writes and deletes preset files; safe across threads and processes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[Any, Preset]] = {}

    def _key(self, preset_id: str) -> Any:
        stat = self.store.snapshot_key(KIND, preset_id)
        # The lock file's write counter too: a rewrite can keep inode, mtime and size.
        return None if stat is None else (stat, self.store.generations(KIND, preset_id))

    def get(self, preset_id: str) -> Preset | None:
        """The preset in this file, re-read only when the file changed; None if there is none (or it is corrupt)."""
        if not is_id(preset_id):
            return None
        key = self._key(preset_id)
        with self._lock:
            if key is None:
                self._cache.pop(preset_id, None)
                return None
            cached = self._cache.get(preset_id)
            if cached is not None and cached[0] == key:
                return cached[1]
            try:
                snap = self.store.read_snapshot(KIND, preset_id)
                preset = Preset.from_dict(snap.data) if snap is not None else None
            except (CorruptFile, KeyError, TypeError, ValueError) as exc:
                self.store.quarantine(KIND, preset_id, str(exc))
                return None
            if preset is None:
                return None
            self._cache[preset_id] = (key, preset)
            return preset

    def all(self) -> list[Preset]:
        """Every stored preset (of every user)."""
        found = [self.get(i) for i in self.store.ids(KIND)]
        return [p for p in found if p is not None]

    def _save(self, preset: Preset) -> None:
        stat = self.store.write_snapshot(KIND, preset.id, preset.to_dict())
        with self._lock:
            self._cache[preset.id] = ((stat, self.store.generations(KIND, preset.id)), preset)

    def create(self, preset: Preset) -> Preset:
        with self.store.lock(KIND, preset.id):
            self._save(preset)
        return preset

    def update(self, preset_id: str, change: Callable[[Preset], None]) -> Preset | None:
        """Read-modify-write one preset under its lock; None if it does not exist (any more)."""
        if not is_id(preset_id):
            return None  # ids come from URLs: never let one name a file
        with self.store.lock(KIND, preset_id):
            current = self.get(preset_id)
            if current is None:
                self.store.drop_lock(KIND, preset_id)
                return None
            preset = Preset.from_dict(current.to_dict())
            change(preset)
            preset.updated_at = now()
            self._save(preset)
        return preset

    def delete(self, preset_id: str, check: Callable[[Preset], None] | None = None) -> bool:
        """Remove a preset's file (after `check` passes, under its lock); False if it was not there."""
        if not is_id(preset_id):
            return False
        with self.store.lock(KIND, preset_id):
            current = self.get(preset_id)
            if current is None:
                self.store.drop_lock(KIND, preset_id)
                return False
            if check is not None:
                check(current)
            self.store.delete(KIND, preset_id)
        with self._lock:
            self._cache.pop(preset_id, None)
        return True
