"""The store: restart, ids that are not ours, atomic writes, quarantine of corrupt files."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from conftest import make_document, make_session

from vice_ai.domain.models import ChatSession, Document, Message, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.errors import StorageFull
from vice_ai.services import services
from vice_ai.storage import files as files_module
from vice_ai.storage import store as store_module
from vice_ai.storage.store import Store


def fresh_state(data_dir: str, compact_bytes: int = 256 * 1024) -> AppState:
    """A new AppState over the folder: nothing in memory, as after a restart."""
    return AppState(Store(data_dir), compact_bytes=compact_bytes)


def seed(state: AppState, messages: int = 3) -> tuple[Document, ChatSession]:
    """One document with one section and one session holding `messages` messages."""
    doc = Document(id=new_id(), title="Grant")
    doc.sections.append(Section(id=new_id(), document_id=doc.id, title="Summary", content="Budget."))
    state.create_document(doc)
    session = state.create_chat_session(doc.sections[0].id, doc.id, title="Chat")
    for k in range(messages):
        state.append_message(session.id, Message(role="user", content=f"message {k}"))
    return doc, session


def journal_records(path: Path) -> list[dict]:
    """The records of a journal file (whole lines before its zero padding)."""
    raw = path.read_bytes().split(b"\0", 1)[0]
    return [json.loads(line) for line in raw[: raw.rfind(b"\n") + 1].splitlines()]


def data_files(data_dir: str) -> list[str]:
    """Files of documents and sessions (snapshots, journals, their locks, quarantine), relative paths.

    Accounts keep their own files in the same folder; they are not what these tests are about.
    """
    root = Path(data_dir)
    paths = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    mine = ("documents", "sessions", "quarantine")
    return sorted(
        str(p) for p in paths
        if p.parts[0] in mine or (p.parts[0] == "locks" and p.name.startswith(("documents-", "sessions-")))
    )


# -- restart ------------------------------------------------------------------------

def _snapshot_of(client, doc_ids: list[str], session_ids: list[str]) -> dict:
    """Everything the API shows about the given documents and sessions."""
    out: dict = {"documents": client.get("/api/documents").get_json()}
    for doc_id in doc_ids:
        doc = client.get(f"/api/documents/{doc_id}").get_json()
        out[doc_id] = doc
        for section in doc["sections"]:
            base = f"/api/documents/{doc_id}/sections/{section['id']}"
            out[section["id"]] = {
                "sessions": client.get(f"{base}/sessions").get_json(),
                "versions": client.get(f"{base}/versions").get_json(),
            }
    for session_id in session_ids:
        resp = client.get(f"/api/sessions/{session_id}")
        assert resp.status_code == 200
        out[session_id] = resp.get_json()
    return out


@pytest.mark.parametrize("compact_bytes", [256 * 1024, 1], ids=["journal", "compacted"])
def test_restart_sees_everything_exactly(make_app, data_dir, compact_bytes):
    app = make_app(JOURNAL_COMPACT_BYTES=compact_bytes)
    client = app.test_client()
    doc_ids, session_ids = [], []
    for d in range(3):
        doc = make_document(client, title=f"Document {d}")
        doc_ids.append(doc["id"])
        section = doc["sections"][1]
        edit = client.patch(
            f"/api/documents/{doc['id']}/sections/{section['id']}",
            json={"content": f"Edited {d}.", "version": section["version"]},
        )
        assert edit.status_code == 200
        for s in range(2):
            session = make_session(client, doc, index=s % 2, title=f"Chat {d}.{s}")
            session_ids.append(session["id"])
            for k in range(4):
                sent = client.post(f"/api/sessions/{session['id']}/messages", json={"content": f"How much is it? {k}"})
                assert sent.status_code == 201
            assert client.patch(f"/api/sessions/{session['id']}", json={"variables": {"n": d * 10 + s}}).status_code == 200
    before = _snapshot_of(client, doc_ids, session_ids)
    assert all(len(before[sid]["messages"]) == 8 for sid in session_ids)

    if compact_bytes == 1:
        # The journals really were folded into snapshots along the way.
        for sid in session_ids:
            raw = json.loads((Path(data_dir) / "sessions" / f"{sid}.json").read_text())
            assert raw["journal_base"] > 0

    restarted = make_app(JOURNAL_COMPACT_BYTES=compact_bytes)
    assert services(restarted).state.chat_sessions == {}
    after = _snapshot_of(restarted.test_client(), doc_ids, session_ids)
    assert after == before


def test_restart_loads_sessions_never_touched_since(data_dir):
    first = fresh_state(data_dir)
    doc, session = seed(first, messages=5)
    second = fresh_state(data_dir)
    assert second.chat_sessions == {} and second.documents == {}
    # Loaded lazily, one file on demand: the document list does not parse sessions.
    assert [d.id for d in second.list_documents()] == [doc.id]
    assert second.chat_sessions == {}
    loaded = second.get_chat_session(session.id)
    assert loaded is not None
    assert loaded.to_dict() == first.get_chat_session(session.id).to_dict()
    assert second.get_document(doc.id).to_dict() == first.get_document(doc.id).to_dict()


class _Crash(BaseException):
    """Stands for the process dying at this point."""


def test_compaction_interrupted_before_journal_reset(data_dir, monkeypatch):
    state = fresh_state(data_dir, compact_bytes=1)
    doc, session = seed(state, messages=2)
    journal = Path(data_dir) / "sessions" / f"{session.id}.journal"

    def die(*args: object) -> None:
        raise _Crash

    monkeypatch.setattr(state.store, "reset_journal", die)
    with pytest.raises(_Crash):
        for k in range(50):  # the first compaction "crashes" after its snapshot
            state.append_message(session.id, Message(role="user", content=f"more {k}"))
    snap = json.loads((Path(data_dir) / "sessions" / f"{session.id}.json").read_text())
    records = journal_records(journal)
    # The state on disk: a snapshot that already holds every journal record.
    assert records and max(r["seq"] for r in records) == snap["journal_base"]

    acknowledged = [m.content for m in state.get_chat_session(session.id).messages]
    restarted = fresh_state(data_dir, compact_bytes=1)
    contents = [m.content for m in restarted.get_chat_session(session.id).messages]
    assert contents == acknowledged  # each once, in order: old records were skipped
    assert len({m.id for m in restarted.get_chat_session(session.id).messages}) == len(contents)

    # And the session keeps working: later appends land once, after a restart too.
    restarted.append_message(session.id, Message(role="user", content="after"))
    again = fresh_state(data_dir)
    assert [m.content for m in again.get_chat_session(session.id).messages] == acknowledged + ["after"]


def test_deleted_document_stays_deleted_after_restart(make_app, data_dir):
    client = make_app().test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    assert client.delete(f"/api/documents/{doc['id']}").status_code in (200, 204)
    assert [f for f in data_files(data_dir) if not f.startswith("locks/")] == []  # lock files stay, by design
    restarted = make_app().test_client()
    assert restarted.get(f"/api/documents/{doc['id']}").status_code == 404
    assert restarted.get(f"/api/sessions/{session['id']}").status_code == 404


# -- ids ----------------------------------------------------------------------------

BAD_IDS = [
    "../x",
    "..%2F..",
    "../../etc/passwd",
    "..",
    "",
    "x",
    "not-a-uuid",
    "12345678-1234-1234-1234-1234567890ab/../x",
    "12345678-1234-1234-1234-1234567890AB",  # upper case: not the canonical form we hand out
    "{12345678-1234-1234-1234-1234567890ab}",
    "12345678123412341234123456789abc",
    "12345678-1234-1234-1234-1234567890ab.json",
    "12345678-1234-1234-1234-1234567890ab\x00",
]

STORE_CALLS = {
    "read_snapshot": lambda s, i: s.read_snapshot("sessions", i),
    "write_snapshot": lambda s, i: s.write_snapshot("documents", i, {"id": i}),
    "read_journal": lambda s, i: s.read_journal("sessions", i),
    "append_journal": lambda s, i: s.append_journal("sessions", i, [{"seq": 1}]),
    "reset_journal": lambda s, i: s.reset_journal("sessions", i),
    "delete": lambda s, i: s.delete("documents", i),
    "quarantine": lambda s, i: s.quarantine("sessions", i, "test"),
    "lock": lambda s, i: s.lock("documents", i),
    "exists": lambda s, i: s.exists("documents", i),
    "snapshot_key": lambda s, i: s.snapshot_key("sessions", i),
    "journal_size": lambda s, i: s.journal_size("sessions", i),
}


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("call", STORE_CALLS.values(), ids=STORE_CALLS.keys())
def test_store_refuses_ids_that_are_not_uuids(tmp_path, bad_id, call):
    data = tmp_path / "data"
    store = Store(data)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError):
        call(store, bad_id)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_store_refuses_unknown_kinds(tmp_path):
    store = Store(tmp_path / "data")
    with pytest.raises(ValueError):
        store.write_snapshot("../locks", new_id(), {})
    assert store.ids("documents") == []


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_app_state_getters_answer_none_for_bad_ids(data_dir, bad_id):
    state = fresh_state(data_dir)
    before = data_files(data_dir)
    assert state.get_document(bad_id) is None
    assert state.get_chat_session(bad_id) is None
    assert state.session_dict(bad_id) is None
    assert data_files(data_dir) == before


URL_IDS = ["..%2F..", "..%2Fx", "not-a-uuid", "12345678-1234-1234-1234-1234567890AB", "%2E%2E", "..%252F.."]


@pytest.mark.parametrize("bad_id", URL_IDS)
@pytest.mark.parametrize(
    "method, template, body",
    [
        ("get", "/api/documents/{id}", None),
        ("patch", "/api/documents/{id}", {"title": "x"}),
        ("delete", "/api/documents/{id}", None),
        ("get", "/api/sessions/{id}", None),
        ("patch", "/api/sessions/{id}", {"title": "x"}),
        ("delete", "/api/sessions/{id}", None),
        ("post", "/api/sessions/{id}/messages", {"content": "hello"}),
    ],
)
def test_api_answers_404_json_for_bad_ids(client, data_dir, bad_id, method, template, body):
    before = data_files(data_dir)
    resp = getattr(client, method)(template.format(id=bad_id), json=body)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert data_files(data_dir) == before


def test_api_bad_section_ids_are_404(client, data_dir):
    doc = make_document(client)
    before = data_files(data_dir)
    for bad in ("..%2F..", "not-a-uuid"):
        resp = client.patch(f"/api/documents/{doc['id']}/sections/{bad}", json={"title": "x", "version": 1})
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
        resp = client.post(f"/api/documents/{doc['id']}/sections/{bad}/sessions", json={})
        assert resp.status_code == 404
    assert data_files(data_dir) == before


def test_unknown_ids_leave_nothing_on_disk(client, data_dir):
    """Well-formed ids that name nothing answer 404 without creating lock files."""
    unknown = new_id()
    before = data_files(data_dir)
    assert client.get(f"/api/documents/{unknown}").status_code == 404
    assert client.patch(f"/api/documents/{unknown}", json={"title": "x"}).status_code == 404
    assert client.delete(f"/api/documents/{unknown}").status_code == 404
    assert client.get(f"/api/sessions/{unknown}").status_code == 404
    assert client.post(f"/api/sessions/{unknown}/messages", json={"content": "hi"}).status_code == 404
    assert client.delete(f"/api/sessions/{unknown}").status_code == 404
    assert data_files(data_dir) == before


# -- atomic writes ------------------------------------------------------------------

def _temp_files(data_dir: str) -> list[Path]:
    return [p for p in Path(data_dir).rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_atomic_writes_leave_no_temp_files(data_dir):
    state = fresh_state(data_dir, compact_bytes=1)  # compaction rewrites snapshots too
    doc, session = seed(state, messages=20)
    with state.edit_document(doc.id) as editable:
        editable.title = "Renamed"
    assert _temp_files(data_dir) == []
    assert fresh_state(data_dir).get_document(doc.id).title == "Renamed"


def test_only_stale_temp_files_are_swept_at_start(data_dir):
    Store(data_dir)
    sessions = Path(data_dir) / "sessions"
    old, fresh = sessions / f".{new_id()}.json.abc.tmp", sessions / f".{new_id()}.json.def.tmp"
    for path in (old, fresh):
        path.write_bytes(b'{"partial')
    os.utime(old, (os.path.getmtime(old) - 3600,) * 2)
    Store(data_dir)
    assert not old.exists() and fresh.exists()  # a fresh one may be another process's write in progress


def test_failed_snapshot_write_keeps_old_content(data_dir, monkeypatch):
    store = Store(data_dir)
    doc_id = new_id()
    store.write_snapshot("documents", doc_id, {"title": "old"})

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", refuse)
    with pytest.raises(StorageFull):
        store.write_snapshot("documents", doc_id, {"title": "new"})
    monkeypatch.undo()
    assert store.read_snapshot("documents", doc_id).data == {"title": "old"}
    assert _temp_files(data_dir) == []


def test_failed_document_edit_answers_507_and_keeps_old_content(make_app, data_dir, monkeypatch):
    app = make_app()
    client = app.test_client()
    doc = make_document(client, title="Old title")

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", refuse)
    monkeypatch.setattr(files_module.os, "fdatasync", refuse)  # an edit is a journal append
    resp = client.patch(f"/api/documents/{doc['id']}", json={"title": "New title"})
    assert resp.status_code == 507 and resp.get_json()["error"]["code"] == "storage_full"
    assert "Traceback" not in resp.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get(f"/api/documents/{doc['id']}").get_json()["title"] == "Old title"
    assert make_app().test_client().get(f"/api/documents/{doc['id']}").get_json()["title"] == "Old title"
    assert _temp_files(data_dir) == []


def test_failed_journal_append_leaves_no_half_record(data_dir, monkeypatch):
    state = fresh_state(data_dir)
    doc, session = seed(state, messages=2)
    journal = Path(data_dir) / "sessions" / f"{session.id}.journal"
    size, before = journal.stat().st_size, journal.read_bytes()

    def refuse(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store_module.os, "fdatasync", refuse)
    with pytest.raises(OSError):
        state.append_message(session.id, Message(role="user", content="lost"))
    monkeypatch.undo()
    assert journal.stat().st_size == size and journal.read_bytes() == before
    assert [m.content for m in state.get_chat_session(session.id).messages] == ["message 0", "message 1"]
    state.append_message(session.id, Message(role="user", content="kept"))
    contents = [m.content for m in fresh_state(data_dir).get_chat_session(session.id).messages]
    assert contents == ["message 0", "message 1", "kept"]


# -- corrupt files ------------------------------------------------------------------

def _corrupt_session_snapshot(data: Path, session_id: str) -> None:
    path = data / "sessions" / f"{session_id}.json"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _corrupt_journal_middle(data: Path, session_id: str) -> None:
    path = data / "sessions" / f"{session_id}.journal"
    raw = path.read_bytes()
    lines = raw.split(b"\0", 1)[0].splitlines(keepends=True)
    assert len(lines) >= 3
    lines[1] = b'{"seq": 2, "op": "mess\xff\xfe garbage\n'
    path.write_bytes(b"".join(lines))


def _wrong_shape_session(data: Path, session_id: str) -> None:
    path = data / "sessions" / f"{session_id}.json"
    raw = json.loads(path.read_text())
    raw["data"] = {"messages": "not a list"}
    path.write_text(json.dumps(raw))


SESSION_CORRUPTIONS = {
    "truncated-snapshot": _corrupt_session_snapshot,
    "garbled-journal-line": _corrupt_journal_middle,
    "wrong-shape-snapshot": _wrong_shape_session,
}


@pytest.mark.parametrize("corrupt", SESSION_CORRUPTIONS.values(), ids=SESSION_CORRUPTIONS.keys())
def test_corrupt_session_is_quarantined_and_the_rest_loads(make_app, data_dir, caplog, corrupt):
    client = make_app().test_client()
    doc = make_document(client)
    sessions = [make_session(client, doc, index=i % 2) for i in range(3)]
    for session in sessions:
        for k in range(2):
            client.post(f"/api/sessions/{session['id']}/messages", json={"content": f"Question {k}"})
    bad, good = sessions[1], [sessions[0], sessions[2]]
    corrupt(Path(data_dir), bad["id"])

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vice_ai"):
        restarted = make_app().test_client()
        assert restarted.get(f"/api/sessions/{bad['id']}").status_code == 404
        assert restarted.get(f"/api/sessions/{bad['id']}").get_json()["error"]["code"] == "not_found"
        for session in good:
            resp = restarted.get(f"/api/sessions/{session['id']}")
            assert resp.status_code == 200
            assert len(resp.get_json()["messages"]) == 4
        listed = restarted.get(f"/api/documents/{doc['id']}/sections/{bad['section_id']}/sessions").get_json()
        assert bad["id"] not in [s["id"] for s in listed["sessions"]]
    quarantined = [r for r in caplog.records if bad["id"] in r.getMessage()]
    assert len(quarantined) == 1
    assert quarantined[0].levelno == logging.ERROR
    assert "quarantine" in quarantined[0].getMessage()
    moved = list((Path(data_dir) / "quarantine" / "sessions").iterdir())
    assert moved and all(p.name.startswith(bad["id"]) for p in moved)
    assert not (Path(data_dir) / "sessions" / f"{bad['id']}.json").exists()


def _unknown_format(path: Path) -> None:
    raw = json.loads(path.read_text())
    raw["format_version"] = 99
    path.write_text(json.dumps(raw))


def _garbled(path: Path) -> None:
    path.write_bytes(b"\x00\x01{not json")


def _wrong_shape(path: Path) -> None:
    raw = json.loads(path.read_text())
    raw["data"] = {"title": "no id, no sections"}
    path.write_text(json.dumps(raw))


DOCUMENT_CORRUPTIONS = {"unknown-format-version": _unknown_format, "garbled": _garbled, "wrong-shape": _wrong_shape}


@pytest.mark.parametrize("corrupt", DOCUMENT_CORRUPTIONS.values(), ids=DOCUMENT_CORRUPTIONS.keys())
def test_corrupt_document_is_quarantined_and_the_rest_loads(make_app, data_dir, caplog, corrupt):
    client = make_app().test_client()
    docs = [make_document(client, title=f"Doc {i}") for i in range(3)]
    session = make_session(client, docs[0])
    bad = docs[1]
    corrupt(Path(data_dir) / "documents" / f"{bad['id']}.json")

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vice_ai"):
        app = make_app()
        assert services(app).repairer.finished.wait(10)  # the start-up pass reads every document too
        restarted = app.test_client()
        listed = restarted.get("/api/documents")
        assert listed.status_code == 200
        assert sorted(d["id"] for d in listed.get_json()["documents"]) == sorted([docs[0]["id"], docs[2]["id"]])
        resp = restarted.get(f"/api/documents/{bad['id']}")
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
        for good in (docs[0], docs[2]):
            assert restarted.get(f"/api/documents/{good['id']}").get_json()["title"] == good["title"]
        assert restarted.get(f"/api/sessions/{session['id']}").status_code == 200
    quarantined = [r for r in caplog.records if bad["id"] in r.getMessage()]
    assert len(quarantined) == 1 and quarantined[0].levelno == logging.ERROR
    assert [p.name.split(".json")[0] for p in (Path(data_dir) / "quarantine" / "documents").iterdir()] == [bad["id"]]


def test_compaction_writes_exactly_what_to_dict_gives(data_dir):
    """The fast snapshot encoding matches the dataclass one, for every field a session and message has."""
    from vice_ai.domain.records import snapshot_data
    from vice_ai.storage.files import dumps

    state = fresh_state(data_dir)
    doc, session = seed(state, messages=0)
    with state.edit_session(session.id) as writer:
        writer.set(title="T", config={"model": "m", "temperature": 0.5}, variables={"a": [1, {"b": None}]},
                   context_documents=[{"name": "n", "content": "c"}])
        writer.put_message(Message(role="assistant", content="x", status="error", model="m", section_version=3,
                                   references=[{"kind": "section"}], receipt={"tokens": 5},
                                   error={"reason": "timeout", "retryable": True},
                                   tool_calls=[{"id": "c1", "name": "f", "arguments": "{}"}]))
        writer.put_message(Message(role="tool", content="42", tool_call_id="c1"))
    loaded = state.get_chat_session(session.id)
    assert dumps(snapshot_data(loaded)) == dumps(loaded.to_dict())
