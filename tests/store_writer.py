"""A separate process writing through its own AppState (run by the durability tests).

    python tests/store_writer.py messages DATA SESSION_ID COUNT TAG [COMPACT_BYTES]
    python tests/store_writer.py document DATA DOC_ID COUNT TAG
    python tests/store_writer.py crash DATA SESSION_ID POINT NTH [COMPACT_BYTES]

It prints "ready" once imported and set up, then waits for one line on stdin
("go") so that several writers start together. In `messages` mode it prints
each message id only after `append_message` returned (the acknowledgement), so
a parent that kills it knows which messages must have survived. In `document`
mode each round increments a counter in the description and adds a section.
In `crash` mode it appends messages (tag "crash") and kills itself with SIGKILL
the NTH time it passes POINT of the store's write path (see `arm_crash`).
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vice_ai.domain.models import Message, Section, new_id  # noqa: E402
from vice_ai.domain.state import AppState  # noqa: E402
from vice_ai.storage import files as files_module  # noqa: E402
from vice_ai.storage import store as store_module  # noqa: E402
from vice_ai.storage.store import Store  # noqa: E402

# Big enough to look like a real chat turn (a few hundred bytes on disk).
FILLER = "The budget covers two years of interviews with forty teams. " * 4
# Seconds to rest between writes: the file lock is not fair, and a writer that
# never pauses may finish before a waiting one gets a turn.
PAUSE = float(os.environ.get("STORE_WRITER_PAUSE", "0"))


def append_messages(state: AppState, session_id: str, count: int, tag: str) -> None:
    """Append `count` messages, acknowledging each id on stdout once it is durable."""
    for k in range(count):
        message = Message(role="user", content=f"{tag}-{k} {FILLER}")
        state.append_message(session_id, message)
        sys.stdout.write(f"{message.id} {tag}-{k}\n")
        sys.stdout.flush()
        if PAUSE:
            time.sleep(PAUSE)


def edit_document(state: AppState, doc_id: str, count: int, tag: str) -> None:
    """Read-modify-write the same document `count` times (a lost update shows in the counter)."""
    for k in range(count):
        with state.edit_document(doc_id) as doc:
            doc.description = str(int(doc.description or "0") + 1)
            doc.sections.append(Section(id=new_id(), document_id=doc_id, title=f"{tag}-{k}"))
        sys.stdout.write(f"{tag}-{k}\n")
        sys.stdout.flush()
        if PAUSE:
            time.sleep(PAUSE)


CRASH_POINTS = ("journal-write", "snapshot-temp", "snapshot-renamed", "journal-reset")


def arm_crash(point: str, nth: int) -> None:
    """Die by SIGKILL on the nth pass through one point of the write path.

    journal-write: half of a journal append is written; snapshot-temp: a compaction's
    temp file is complete but not renamed; snapshot-renamed: the new snapshot is in
    place but the folder not fsynced and the journal not reset; journal-reset: just
    before the journal is emptied.
    """
    passes = 0

    def due() -> bool:
        nonlocal passes
        passes += 1
        return passes >= nth

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    real_pwrite, real_replace, real_reset = os.pwrite, os.replace, store_module.Store.reset_journal

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        # Only appends to the journal count (the lock file's counters are written too).
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".journal") and due():
            real_pwrite(fd, data[: len(data) // 2], offset)
            die()
        return real_pwrite(fd, data, offset)

    def replace(src: str, dst: str) -> None:
        if point == "snapshot-temp" and due():
            die()
        real_replace(src, dst)
        if point == "snapshot-renamed" and due():
            die()

    def reset(self: store_module.Store, kind: str, item_id: str, *tail: bytes) -> None:
        if due():
            die()
        real_reset(self, kind, item_id, *tail)

    if point == "journal-write":
        store_module.os.pwrite = pwrite  # type: ignore[assignment]  # the store is the only os.pwrite user here
    elif point in ("snapshot-temp", "snapshot-renamed"):
        files_module.os.replace = replace  # type: ignore[assignment]  # write_atomic's rename
    elif point == "journal-reset":
        store_module.Store.reset_journal = reset  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def main(argv: list[str]) -> None:
    mode, data, item_id, count, tag = argv[:5]
    compact = int(argv[5]) if len(argv) > 5 else 256 * 1024
    state = AppState(Store(data), compact_bytes=compact)
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "crash":
        # Here `count` names the crash point and `tag` the pass to die on.
        arm_crash(count, int(tag))
        append_messages(state, item_id, 10_000, "crash")
        raise SystemExit("the crash point was never reached")
    if mode == "messages":
        append_messages(state, item_id, int(count), tag)
    elif mode == "document":
        edit_document(state, item_id, int(count), tag)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
