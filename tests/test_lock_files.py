"""Lock files under <data>/locks/: as many as there are resources, and still a lock when they are removed.

A deleted resource's lock file is unlinked under its lock; whoever waited on
it (another process, another thread) finds the path no longer names the file
it locked and locks the new one. The churn test counts files; the process
test hammers one counter from several processes while the lock file is
unlinked again and again, and no increment may be lost.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import make_document, make_session

from vice_ai.domain.models import Document, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


def lock_files(data_dir: str) -> list[str]:
    return sorted(p.name for p in (Path(data_dir) / "locks").iterdir() if p.suffix == ".lock")


def test_create_delete_churn_leaves_locks_proportional_to_live_resources(data_dir):
    state = AppState(Store(data_dir))
    keep = Document(id=new_id(), title="Kept")
    keep.sections.append(Section(id=new_id(), document_id=keep.id, title="Summary"))
    state.create_document(keep)
    live = [state.create_chat_session(keep.sections[0].id, keep.id, title="Live") for _ in range(3)]
    for k in range(60):
        doc = Document(id=new_id(), title=f"Churn {k}")
        doc.sections.append(Section(id=new_id(), document_id=doc.id, title="Summary"))
        state.create_document(doc)
        session = state.create_chat_session(doc.sections[0].id, doc.id, title="Gone soon")
        other = state.create_chat_session(keep.sections[0].id, keep.id, title="Gone soon")
        state.delete_chat_session(other.id)
        if k % 2:
            state.delete_chat_session(session.id)
        state.delete_document(doc.id)  # and its remaining sessions

    expected = sorted([f"documents-{keep.id}.lock"] + [f"sessions-{s.id}.lock" for s in live])
    assert lock_files(data_dir) == expected
    assert [s.title for s in (state.get_chat_session(s.id) for s in live)] == ["Live"] * 3


def test_a_reader_that_finds_a_resource_deleted_by_another_process_leaves_no_lock_file(data_dir):
    """Another process (its own AppState) deleted what this one has cached: reading it makes no lasting lock file."""
    mine, theirs = AppState(Store(data_dir)), AppState(Store(data_dir))
    doc = Document(id=new_id(), title="Grant")
    doc.sections.append(Section(id=new_id(), document_id=doc.id, title="Summary"))
    mine.create_document(doc)
    session = mine.create_chat_session(doc.sections[0].id, doc.id, title="Chat")
    assert theirs.get_chat_session(session.id) is not None
    theirs.delete_document(doc.id)
    assert lock_files(data_dir) == []
    assert mine.get_chat_session(session.id) is None and mine.get_document(doc.id) is None
    assert lock_files(data_dir) == []


def test_deleting_through_the_api_removes_lock_files(client, data_dir):
    doc = make_document(client)
    sessions = [make_session(client, doc) for _ in range(20)]
    for session in sessions:
        assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "hi"}).status_code == 201
    for session in sessions[1:]:
        assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    names = lock_files(data_dir)
    assert f"documents-{doc['id']}.lock" in names and f"sessions-{sessions[0]['id']}.lock" in names
    assert not any(s["id"] in name for s in sessions[1:] for name in names)
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200
    assert not any(name.startswith(("documents-", "sessions-")) for name in lock_files(data_dir))


# Each process adds 1 to a counter file ROUNDS times under the lock of one resource,
# and every third time, still holding it, unlinks the lock file (as deleting does).
WORKER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from vice_ai.storage.locks import SidecarLock
    lock_path, counter, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4])
    lock = SidecarLock(lock_path)
    print("ready", flush=True)
    sys.stdin.readline()
    for k in range(rounds):
        with lock:
            with open(counter, "r+") as fh:
                value = int(fh.read() or "0")
                fh.seek(0)
                fh.write(str(value + 1))
                fh.truncate()
            if k % 3 == 0:
                try:
                    os.unlink(lock_path)
                except FileNotFoundError:
                    pass
""")


def test_unlinking_a_lock_file_others_wait_on_loses_no_update(tmp_path):
    lock_path, counter = tmp_path / "one.lock", tmp_path / "counter"
    counter.write_text("0")
    rounds, workers = 300, 4
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT), str(lock_path), str(counter), str(rounds)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.communicate(timeout=60)  # closes its pipes
        assert proc.returncode == 0
    assert int(counter.read_text()) == rounds * workers
