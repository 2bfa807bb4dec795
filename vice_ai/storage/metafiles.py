"""Small app-wide JSON files under <data>/meta/ (e.g. the index of running notification streams)."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .files import FORMAT_VERSION, dumps, write_atomic
from .store import Store

log = logging.getLogger(__name__)


def _path(store: Store, name: str) -> Path:
    if not name.isidentifier():
        raise ValueError(f"bad meta name {name!r}")
    folder = store.root / "meta"
    folder.mkdir(exist_ok=True)
    return folder / f"{name}.json"


def read_meta(store: Store, name: str) -> Any:
    """The data of a meta file, or None (a corrupt one is moved to quarantine)."""
    path = _path(store, name)
    try:
        return json.loads(path.read_bytes())["data"]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        dest = store.root / "quarantine" / "meta"
        dest.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest / path.name)
        log.error("quarantined corrupt meta file %s: %s (moved to %s)", path.name, exc, dest)
        return None


def update_meta(store: Store, name: str, change: Callable[[Any], Any]) -> Any:
    """Read-modify-write a meta file atomically under its file lock; returns the new data."""
    with store.folder.writing("locks"):  # a full, read-only or vanished folder is told as such
        path = _path(store, name)
        with FileLock(store.root / "locks" / f"meta-{name}.lock"):
            data = change(read_meta(store, name))
            write_atomic(path, dumps({"format_version": FORMAT_VERSION, "kind": "meta", "data": data}))
    return data
