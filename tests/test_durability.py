"""Durability: threads and processes sharing a session, SIGKILL at random moments, torn journal tails."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vice_ai.domain.models import Document, Message, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store

WRITER = Path(__file__).resolve().parent / "store_writer.py"


def fresh_state(data_dir: str, compact_bytes: int = 256 * 1024) -> AppState:
    """A new AppState over the folder: nothing in memory, as after a restart."""
    return AppState(Store(data_dir), compact_bytes=compact_bytes)


def new_session(data_dir: str) -> tuple[str, str]:
    """A document with one section and an empty session; returns (doc_id, session_id)."""
    state = fresh_state(data_dir)
    doc = Document(id=new_id(), title="Grant")
    doc.sections.append(Section(id=new_id(), document_id=doc.id, title="Summary"))
    state.create_document(doc)
    return doc.id, state.create_chat_session(doc.sections[0].id, doc.id).id


def assert_files_parse(data_dir: str) -> None:
    """Every snapshot is whole JSON; every journal line that ends in a newline is a record."""
    data = Path(data_dir)
    for kind in ("documents", "sessions"):
        for path in (data / kind).glob("*.json"):
            doc = json.loads(path.read_bytes())
            assert doc["format_version"] == 1 and isinstance(doc["data"], dict), path
        for path in (data / kind).glob("*.journal"):
            raw = path.read_bytes()
            records, padding = raw.split(b"\0", 1) if b"\0" in raw else (raw, b"")
            for line in records[: records.rfind(b"\n") + 1].splitlines():
                assert isinstance(json.loads(line)["seq"], int), path
            # Past the end only zeros, and at most a torn line nobody was told about.
            assert not padding.strip(b"\0"), path
    assert not list((data / "quarantine").rglob("*.*")), "nothing may be quarantined"


def switches(contents: list[str]) -> int:
    """How often the writer changes along the list (>= 2 means someone had to catch up)."""
    tags = [c.split(" ", 1)[0].rpartition("-")[0] for c in contents]
    return sum(a != b for a, b in zip(tags, tags[1:], strict=False))


def order_by_tag(contents: list[str]) -> dict[str, list[int]]:
    """'tag-k ...' contents grouped by tag, in session order."""
    out: dict[str, list[int]] = {}
    for content in contents:
        tag, _, k = content.split(" ", 1)[0].rpartition("-")
        out.setdefault(tag, []).append(int(k))
    return out


# -- threads ------------------------------------------------------------------------

@pytest.mark.parametrize("compact_bytes", [256 * 1024, 1], ids=["journal", "compacting"])
def test_eight_threads_append_to_one_session(data_dir, compact_bytes):
    _, session_id = new_session(data_dir)
    state = fresh_state(data_dir, compact_bytes)
    per_thread = 40
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait()
            for k in range(per_thread):
                state.append_message(session_id, Message(role="user", content=f"t{t}-{k} hello"))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    in_memory = [m.content for m in state.get_chat_session(session_id).messages]
    assert len(in_memory) == 8 * per_thread
    assert order_by_tag(in_memory) == {f"t{t}": list(range(per_thread)) for t in range(8)}
    assert_files_parse(data_dir)
    reloaded = fresh_state(data_dir).get_chat_session(session_id)
    assert [m.content for m in reloaded.messages] == in_memory


# -- processes ----------------------------------------------------------------------

def start_writer(*args: str, pause: float = 0.0) -> subprocess.Popen:
    """A store_writer.py process, waited on until it has said 'ready'."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "STORE_WRITER_PAUSE": str(pause)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def go(*procs: subprocess.Popen) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def finish(proc: subprocess.Popen) -> list[str]:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    return out.splitlines()


@pytest.mark.parametrize("compact_bytes", ["262144", "1"], ids=["journal", "compacting"])
def test_two_processes_append_to_one_session(data_dir, compact_bytes):
    _, session_id = new_session(data_dir)
    count = 200
    procs = [
        start_writer("messages", data_dir, session_id, str(count), tag, compact_bytes, pause=0.002) for tag in ("a", "b")
    ]
    go(*procs)
    acked = [line.split()[0] for proc in procs for line in finish(proc)]
    assert len(acked) == 2 * count

    assert_files_parse(data_dir)
    messages = fresh_state(data_dir).get_chat_session(session_id).messages
    contents = [m.content for m in messages]
    assert sorted(m.id for m in messages) == sorted(acked)
    assert order_by_tag(contents) == {"a": list(range(count)), "b": list(range(count))}
    assert switches(contents) >= 2, "the writers never interleaved: the catch-up path went untested"


def test_two_processes_edit_one_document(data_dir):
    doc_id, _ = new_session(data_dir)
    count = 100
    procs = [start_writer("document", data_dir, doc_id, str(count), tag, pause=0.002) for tag in ("a", "b")]
    go(*procs)
    for proc in procs:
        assert len(finish(proc)) == count

    assert_files_parse(data_dir)
    doc = fresh_state(data_dir).get_document(doc_id)
    assert doc.description == str(2 * count)  # every read-modify-write saw the other's last write
    titles = [s.title for s in doc.sections[1:]]
    assert order_by_tag(titles) == {"a": list(range(count)), "b": list(range(count))}
    assert switches(titles) >= 2, "the writers never interleaved"


def test_a_process_sees_what_another_appended(data_dir):
    """An AppState with the session already in memory catches up with another process's appends."""
    _, session_id = new_session(data_dir)
    mine = fresh_state(data_dir, compact_bytes=1)
    mine.append_message(session_id, Message(role="user", content="mine-0 first"))
    proc = start_writer("messages", data_dir, session_id, "30", "theirs", "1")
    go(proc)
    finish(proc)
    mine.append_message(session_id, Message(role="user", content="mine-1 last"))
    contents = [m.content for m in mine.get_chat_session(session_id).messages]
    assert order_by_tag(contents) == {"mine": [0, 1], "theirs": list(range(30))}
    assert contents[0].startswith("mine-0") and contents[-1].startswith("mine-1")
    assert [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages] == contents


def keep_inode(path: Path) -> Path:
    """A second name for `path`'s file: its inode (and so its number) outlives a rename over `path`."""
    kept = path.with_name(f".{path.name}.kept")
    os.link(path, kept)
    return kept


def disguise(path: Path, seen: os.stat_result, fill: bytes, kept: Path | None = None) -> None:
    """Make a stat of `path` show (inode, mtime, size) exactly as in `seen`, keeping its current content.

    The content goes into the inode `kept` holds (when the file was replaced
    since), padded with `fill` to the old size (whitespace after JSON, zeros
    after journal records: both mean nothing), the old mtime is put back, and
    that inode goes back under the name: what a rewrite within one clock tick
    that reused the inode number and kept the size would look like.
    """
    content = path.read_bytes()
    assert len(content) <= seen.st_size, f"{path.name} outgrew the size to restore"
    target = kept or path
    with open(target, "r+b") as fh:
        fh.write(content + fill * (seen.st_size - len(content)))
        fh.truncate()
    os.utime(target, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    if kept is not None:
        os.replace(kept, path)
        if kept.exists():  # never replaced: both names were one file, and a rename onto itself does nothing
            kept.unlink()
    st = os.stat(path)
    assert (st.st_ino, st.st_mtime_ns, st.st_size) == (seen.st_ino, seen.st_mtime_ns, seen.st_size)


@pytest.mark.parametrize(
    "others, compact_bytes", [(3, 256 * 1024), (1, 1), (2, 1), (3, 1), (5, 1), (8, 1)],
    ids=["appends-3", "compacting-1", "compacting-2", "compacting-3", "compacting-5", "compacting-8"],
)
def test_a_rewrite_the_snapshot_stat_cannot_show_is_still_noticed(data_dir, others, compact_bytes):
    """Another writer's appends and compactions are seen even when no stat of the session's files shows them.

    `theirs` (its own Store, as another process) appends `others` messages:
    only to the journal (appends-*), or compacting whenever its journal
    outgrows the snapshot (compacting-*: a rewritten snapshot, then an emptied
    journal, or one with records appended after the reset). Then both files
    are made to stat exactly as `mine` last saw them: same inode, mtime and
    size (`disguise`). `mine` must still read the new messages, because the
    counters in the lock file moved, and its next append must follow them.
    """
    _, session_id = new_session(data_dir)
    snapshot = Path(data_dir) / "sessions" / f"{session_id}.json"
    journal = snapshot.with_suffix(".journal")
    theirs = fresh_state(data_dir, compact_bytes=compact_bytes)
    assert theirs.get_chat_session(session_id).messages == []  # loaded: it compacts by this snapshot's size
    with open(snapshot, "ab") as fh:
        # Trailing whitespace is the same JSON: the snapshot mine sees gets the
        # room to take theirs' bigger rewrites at the same size.
        fh.write(b" " * 16384)
    mine = fresh_state(data_dir, compact_bytes=1)
    mine.append_message(session_id, Message(role="user", content="mine-0"))
    seen = {path: os.stat(path) for path in (snapshot, journal)}
    counters = mine.store.generations("sessions", session_id)
    kept = keep_inode(snapshot)

    for k in range(others):
        theirs.append_message(session_id, Message(role="user", content=f"them-{k}"))
    disguise(snapshot, seen[snapshot], b" ", kept)
    disguise(journal, seen[journal], b"\0")  # compaction empties it in place: still the same inode

    snapshots, writes = mine.store.generations("sessions", session_id)
    assert writes > counters[1] and (snapshots > counters[0]) == (compact_bytes == 1)
    expected = ["mine-0"] + [f"them-{k}" for k in range(others)]
    assert [m.content for m in mine.get_chat_session(session_id).messages] == expected
    mine.append_message(session_id, Message(role="user", content="mine-1"))
    assert [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages] == expected + ["mine-1"]


def test_document_rewritten_with_the_same_stat_is_not_overwritten_blindly(data_dir):
    """An edit made from a stale copy does not overwrite another writer's edit that no stat of the file shows.

    `mine` holds the document in memory; `theirs` (its own Store, as another
    process) changes the title to one of the same length, and the file is
    made to stat as before (same inode, mtime and size: `disguise`). Only the
    lock file's counters moved. `mine`'s read-modify-write must start from
    their version, so both edits survive.
    """
    doc_id, _ = new_session(data_dir)
    path = Path(data_dir) / "documents" / f"{doc_id}.json"
    journal = path.with_suffix(".journal")  # an edit is a record written into the journal's padding
    mine, theirs = fresh_state(data_dir), fresh_state(data_dir)
    assert mine.get_document(doc_id).title == "Grant"
    seen = {p: os.stat(p) for p in (path, journal)}
    counters = mine.store.generations("documents", doc_id)

    with theirs.edit_document(doc_id) as doc:
        doc.title = "Gran2"  # same length: same size on disk
    disguise(journal, seen[journal], b"\0")
    st = os.stat(path)
    assert (st.st_ino, st.st_mtime_ns, st.st_size) == (seen[path].st_ino, seen[path].st_mtime_ns, seen[path].st_size)

    assert mine.store.generations("documents", doc_id) != counters
    with mine.edit_document(doc_id) as doc:
        doc.description = "mine"
    final = fresh_state(data_dir).get_document(doc_id)
    assert (final.title, final.description) == ("Gran2", "mine")


# -- crashes ------------------------------------------------------------------------

def test_sigkill_at_random_moments_loses_no_acknowledged_message(data_dir):
    _, session_id = new_session(data_dir)
    rng = random.Random(20240611)
    acked: list[str] = []
    compactions = 0
    deadline = time.monotonic() + 25  # keeps the run modest even on a slow disk
    rounds = 0
    while rounds < 30 and (rounds < 10 or time.monotonic() < deadline):  # at least 10, however slow
        rounds += 1
        # A tiny compaction floor: snapshots are rewritten every few appends, so
        # kills land inside compactions as well as inside appends.
        proc = start_writer("messages", data_dir, session_id, "100000", f"r{rounds}", "2048")
        go(proc)
        time.sleep(rng.uniform(0.01, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # Only whole lines are acknowledgements (the kill may cut one short).
        acked += [line.split()[0] for line in out[: out.rfind("\n") + 1].splitlines()]

        assert_files_parse(data_dir)
        snapshot = json.loads((Path(data_dir) / "sessions" / f"{session_id}.json").read_bytes())
        compactions += snapshot["journal_base"] > 0
        ids = [m.id for m in fresh_state(data_dir).get_chat_session(session_id).messages]
        assert len(ids) == len(set(ids)), "a message came back twice"
        missing = set(acked) - set(ids)
        assert not missing, f"round {rounds}: {len(missing)} acknowledged messages lost"
        # Acknowledged messages keep the order they were acknowledged in.
        positions = {mid: i for i, mid in enumerate(ids)}
        assert [positions[mid] for mid in acked] == sorted(positions[mid] for mid in acked)
    assert rounds >= 10 and len(acked) > 0 and compactions > 0


def _temp_files(data_dir: str) -> list[Path]:
    return list((Path(data_dir) / "sessions").glob(".*.tmp"))


@pytest.mark.parametrize("point", ["journal-write", "snapshot-temp", "snapshot-renamed", "journal-reset"])
def test_sigkill_at_each_point_of_the_write_path(data_dir, point):
    """Deterministic crashes at the delicate moments of an append and of a compaction."""
    _, session_id = new_session(data_dir)
    # Compaction whenever the journal outgrows the snapshot: the 3rd pass comes soon.
    proc = start_writer("crash", data_dir, session_id, point, "3", "1")
    go(proc)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, out
    acked = [line.split()[0] for line in out.splitlines()]
    assert acked

    assert_files_parse(data_dir)
    ids = [m.id for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert ids[: len(acked)] == acked
    # At most the one unacknowledged message may have made it (written, not yet reported).
    assert len(ids) - len(acked) in (0, 1)
    if point == "snapshot-temp":
        assert len(_temp_files(data_dir)) == 1  # left by the dead writer, ignored by loading
        # Swept by the next start once it is old enough to be nobody's write in progress.
        (stale,) = _temp_files(data_dir)
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert fresh_state(data_dir).store.ids("sessions") == [session_id]
    assert _temp_files(data_dir) == []

    # The session keeps working for the next process, compactions included.
    proc = start_writer("messages", data_dir, session_id, "40", "after", "1")
    go(proc)
    later = [line.split()[0] for line in finish(proc)]
    assert_files_parse(data_dir)
    final = [m.id for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert final == ids + later


def write_at_end(journal: Path, data: bytes) -> None:
    """Write where the journal's records end (before its zero padding), as a torn append would."""
    raw = journal.read_bytes()
    end = raw.find(b"\0") if b"\0" in raw else len(raw)
    with open(journal, "r+b") as fh:
        fh.seek(end)
        fh.write(data)


def test_torn_journal_tail_is_cut_off_and_appends_continue(data_dir, caplog):
    _, session_id = new_session(data_dir)
    state = fresh_state(data_dir)
    for k in range(3):
        state.append_message(session_id, Message(role="user", content=f"m-{k}"))
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    whole = journal.read_bytes()
    write_at_end(journal, b'{"seq": 4, "op": "message", "message": {"role": "us')  # a crash mid-append

    restarted = fresh_state(data_dir)
    assert [m.content for m in restarted.get_chat_session(session_id).messages] == ["m-0", "m-1", "m-2"]
    assert journal.read_bytes() == whole  # the torn line is gone, padding restored
    assert any("torn tail" in r.getMessage() for r in caplog.records)
    restarted.append_message(session_id, Message(role="user", content="m-3"))
    assert_files_parse(data_dir)
    contents = [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert contents == ["m-0", "m-1", "m-2", "m-3"]


def test_torn_tail_left_by_a_killed_process_is_cut_before_the_next_append(data_dir):
    """A process that holds the session in memory notices a tail another process tore by dying."""
    _, session_id = new_session(data_dir)
    state = fresh_state(data_dir)
    state.append_message(session_id, Message(role="user", content="mine-0"))
    proc = start_writer("crash", data_dir, session_id, "journal-write", "2")  # dies in its 2nd append
    go(proc)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(out.splitlines()) == 1
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    raw = journal.read_bytes()
    assert not raw.split(b"\0", 1)[0].endswith(b"\n")  # the torn line really is there

    state.append_message(session_id, Message(role="user", content="mine-1"))
    assert_files_parse(data_dir)
    contents = [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert contents[0] == "mine-0" and contents[1].startswith("crash-0") and contents[2:] == ["mine-1"]


def test_bytes_a_lost_write_left_past_the_end_are_cleared(data_dir, caplog):
    """A power cut can persist the second page of an append but not the first: garbage behind zeros."""
    _, session_id = new_session(data_dir)
    state = fresh_state(data_dir)
    for k in range(2):
        state.append_message(session_id, Message(role="user", content=f"m-{k}"))
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    raw = journal.read_bytes()
    end = raw.find(b"\0")
    assert len(raw) - end > 100  # the journal is padded ahead
    with open(journal, "r+b") as fh:
        fh.seek(end + 40)
        fh.write(b'ssage":{"role":"user","content":"lo')

    restarted = fresh_state(data_dir)
    assert [m.content for m in restarted.get_chat_session(session_id).messages] == ["m-0", "m-1"]
    assert any("stale bytes" in r.getMessage() for r in caplog.records)
    restarted.append_message(session_id, Message(role="user", content="m-2"))
    assert_files_parse(data_dir)
    contents = [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert contents == ["m-0", "m-1", "m-2"]


def test_whole_records_behind_a_gap_quarantine_the_session(data_dir, caplog):
    """Zeros in the middle of records are damage, not a torn write: nothing is silently dropped."""
    _, session_id = new_session(data_dir)
    state = fresh_state(data_dir)
    for k in range(3):
        state.append_message(session_id, Message(role="user", content=f"m-{k}"))
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    raw = bytearray(journal.read_bytes())
    first_line = raw.index(b"\n")
    raw[first_line + 1 : first_line + 11] = bytes(10)  # damage the second record
    journal.write_bytes(bytes(raw))

    assert fresh_state(data_dir).get_chat_session(session_id) is None
    assert any("records after a gap" in r.getMessage() for r in caplog.records)
    assert list((Path(data_dir) / "quarantine" / "sessions").glob(f"{session_id}.journal.*"))


def test_append_refuses_to_write_anywhere_but_the_end(data_dir):
    _, session_id = new_session(data_dir)
    store = Store(data_dir)
    end = store.append_journal("sessions", session_id, [{"seq": 1, "op": "set", "fields": {"title": "a"}}], at=0)
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    before = journal.read_bytes()
    for wrong in (0, end - 1, end + 1, end + 10_000):
        with pytest.raises(RuntimeError):
            store.append_journal("sessions", session_id, [{"seq": 2, "op": "set", "fields": {"title": "b"}}], at=wrong)
    assert journal.read_bytes() == before
    assert store.append_journal("sessions", session_id, [{"seq": 2, "op": "set", "fields": {"title": "b"}}]) > end
    assert [r["seq"] for r in store.read_journal("sessions", session_id)[0]] == [1, 2]


def test_journal_without_padding_still_loads_and_grows(data_dir):
    """Journals written before padding existed (plain lines to the end of file) keep working."""
    _, session_id = new_session(data_dir)
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    lines = [
        {"seq": k + 1, "op": "message", "at": "2024-01-01T00:00:00.000Z",
         "message": Message(role="user", content=f"old-{k}").to_dict()}
        for k in range(3)
    ]
    journal.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in lines))
    state = fresh_state(data_dir)
    state.append_message(session_id, Message(role="user", content="new-0"))
    contents = [m.content for m in fresh_state(data_dir).get_chat_session(session_id).messages]
    assert contents == ["old-0", "old-1", "old-2", "new-0"]
