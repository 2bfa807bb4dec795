"""A consistent copy of a data folder while the server runs: each resource copied under its own lock.

Writers replace snapshots atomically and append to journals, always holding the
resource's sidecar lock (`Store.lock`); holding it while copying a snapshot and
its journal gives a pair as some moment had it, never a snapshot from after a
journal it was compacted from. Meta files are copied under their file locks.
Resources are copied one after another, not all at one instant: a chat created
or deleted meanwhile may be in the copy without its document's mention (or the
reverse), which the app already treats as absent and cleans up at start-up.
The copy is built in a hidden folder next to DEST and renamed to DEST at the
end, so a DEST that exists is a finished backup. Lock files are not copied.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from filelock import FileLock

from .files import fsync_dir, is_temp_name
from .store import KINDS, Store

SKIP = {"locks", "leases"}


def _copy(src: Path, dest: Path) -> bool:
    """Copy one file and fsync it; False if it vanished meanwhile."""
    try:
        shutil.copy2(src, dest)
    except FileNotFoundError:
        return False
    with open(dest, "rb") as fh:
        os.fsync(fh.fileno())
    return True


def _copy_resources(store: Store, kind: str, dest: Path) -> int:
    folder = dest / kind
    folder.mkdir()
    copied = 0
    for item_id in store.ids(kind):
        with store.lock(kind, item_id):
            src = store.root / kind
            if _copy(src / f"{item_id}.json", folder / f"{item_id}.json"):
                _copy(src / f"{item_id}.journal", folder / f"{item_id}.journal")
                copied += 1
            else:
                store.drop_lock(kind, item_id)  # deleted meanwhile: leave no lock file behind
    fsync_dir(folder)
    return copied


def _copy_meta(store: Store, dest: Path) -> int:
    src = store.root / "meta"
    if not src.is_dir():
        return 0
    (dest / "meta").mkdir()
    copied = 0
    for path in sorted(src.glob("*.json")):
        with FileLock(store.root / "locks" / f"meta-{path.stem}.lock"):
            copied += _copy(path, dest / "meta" / path.name)
    fsync_dir(dest / "meta")
    return copied


def backup(store: Store, dest: str | os.PathLike[str]) -> dict[str, int]:
    """Copy the store's data folder to `dest` (which must not exist yet); returns how many of each were copied."""
    target = Path(dest).resolve()
    if target.exists():
        raise FileExistsError(f"{target} already exists: give a new folder")
    root = store.root.resolve()
    if target == root or root in target.parents:
        raise ValueError("the backup cannot go inside the data folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    partial.mkdir(mode=0o700)  # it holds password hashes and the cookie key
    counts: dict[str, int] = {}
    try:
        for kind in KINDS:
            counts[kind] = _copy_resources(store, kind, partial)
        counts["meta"] = _copy_meta(store, partial)
        # Everything else (secret_key, quarantine/, folders of later features) as it is.
        others = 0
        for entry in sorted(root.iterdir()):
            if entry.name in SKIP or entry.name in KINDS or entry.name == "meta" or is_temp_name(entry.name):
                continue
            if entry.is_dir():
                shutil.copytree(entry, partial / entry.name)
            else:
                _copy(entry, partial / entry.name)
            others += 1
        counts["other"] = others
        (partial / "locks").mkdir()
        fsync_dir(partial)
        os.rename(partial, target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return counts
