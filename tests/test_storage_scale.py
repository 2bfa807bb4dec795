"""Storage at scale: the document journal, compaction off the append path, bounded memory (issue 10)."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from vice_ai.domain.models import Document, Message, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store


def fresh_state(data_dir: str, **options) -> AppState:
    return AppState(Store(data_dir), **options)


def seed_document(state: AppState, sections: int = 5) -> Document:
    doc = Document(id=new_id(), title="Grant")
    doc.sections = [Section(id=new_id(), document_id=doc.id, title=f"S{k}", content=f"text {k}")
                    for k in range(sections)]
    for section in doc.sections:
        section.record_version("Created", {"kind": "edit"})
    return state.create_document(doc)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("compact_bytes", [256 * 1024, 1], ids=["journal", "compacting"])
def test_document_edits_replay_exactly_after_a_restart(data_dir, compact_bytes):
    state = fresh_state(data_dir, compact_bytes=compact_bytes)
    doc = seed_document(state)
    ids = [s.id for s in doc.sections]
    with state.edit_document(doc.id) as edited:
        edited.title = "Renamed"
        edited.shared_with.append({"user": "u1", "access": "read"})
        edited.section(ids[1]).new_version("changed", "Edited", {"kind": "edit"})
    with state.edit_document(doc.id) as edited:
        edited.sections.insert(2, Section(id=new_id(), document_id=doc.id, title="New"))
        edited.sections.remove(edited.section(ids[3]))
    with state.edit_document(doc.id) as edited:
        edited.sections.insert(0, edited.sections.pop(4))  # a move
    with state.edit_document(doc.id) as edited:
        edited.sections.reverse()  # a whole new order
        edited.section(ids[0]).session_ids.append(new_id())
    for k in range(10):  # the journal outgrows the snapshot: the compacting case folds it in
        with state.edit_document(doc.id) as edited:
            edited.description = f"{k} " * 400
    expected = state.get_document(doc.id).to_dict()
    assert expected["title"] == "Renamed" and len(expected["sections"]) == 5
    assert fresh_state(data_dir).get_document(doc.id).to_dict() == expected
    snapshot = json.loads((Path(data_dir) / "documents" / f"{doc.id}.json").read_bytes())
    assert (snapshot["journal_base"] > 0) == (compact_bytes == 1)
    journal = Path(data_dir) / "documents" / f"{doc.id}.journal"
    if compact_bytes > 1:  # an edit wrote what changed, not the document
        assert snapshot["data"]["title"] == "Grant" and journal.stat().st_size > 0


def test_an_edit_touches_only_the_section_it_changes_and_an_error_changes_nothing(data_dir):
    state = fresh_state(data_dir)
    doc = seed_document(state, sections=50)
    before = state.get_document(doc.id)
    with state.edit_document(doc.id) as edited:
        edited.section(doc.sections[7].id).title = "Seven"
    after = state.get_document(doc.id)
    assert after is not before and after.sections[7].title == "Seven" and before.sections[7].title == "S7"
    assert all(a is b for k, (a, b) in enumerate(zip(after.sections, before.sections, strict=True)) if k != 7)
    with pytest.raises(RuntimeError), state.edit_document(doc.id) as edited:
        edited.title = "Broken"
        edited.section(doc.sections[3].id).new_version("half", "Edited", {"kind": "edit"})
        raise RuntimeError("stop")
    now = state.get_document(doc.id)
    assert now is after and now.title == "Grant" and now.sections[3].content == "text 3"
    assert fresh_state(data_dir).get_document(doc.id).to_dict() == after.to_dict()


def test_two_writers_editing_different_sections_lose_nothing(data_dir):
    doc = seed_document(fresh_state(data_dir), sections=4)
    writers = [fresh_state(data_dir) for _ in range(2)]  # their own Store each, as two processes

    def edit(state: AppState, section_id: str) -> None:
        for k in range(25):
            with state.edit_document(doc.id) as edited:
                edited.section(section_id).new_version(f"v{k}", "Edited", {"kind": "edit"})

    threads = [threading.Thread(target=edit, args=(w, doc.sections[i].id)) for i, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for state in (*writers, fresh_state(data_dir)):
        final = state.get_document(doc.id)
        assert [s.content for s in final.sections[:2]] == ["v24", "v24"]
        assert [s.version for s in final.sections[:2]] == [26, 26]


def test_background_compaction_concurrent_with_appends_loses_nothing(data_dir):
    state = fresh_state(data_dir, compact_bytes=1, inline_compact_bytes=0)  # every append asks the compactor
    doc = seed_document(state, sections=1)
    session = state.create_chat_session(doc.sections[0].id, doc.id)

    def append(tag: str) -> None:
        for k in range(40):
            state.append_message(session.id, Message(role="user", content=f"{tag}-{k}"))

    threads = [threading.Thread(target=append, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.compactor.wait_idle(30)
    snapshot = json.loads((Path(data_dir) / "sessions" / f"{session.id}.json").read_bytes())
    assert snapshot["journal_base"] > 0
    contents = [m.content for m in state.get_chat_session(session.id).messages]
    assert sorted(contents) == sorted(f"t{i}-{k}" for i in range(4) for k in range(40))
    assert [m.content for m in fresh_state(data_dir).get_chat_session(session.id).messages] == contents
    state.append_message(session.id, Message(role="user", content="after"))
    assert [m.content for m in fresh_state(data_dir).get_chat_session(session.id).messages] == contents + ["after"]
    state.close()


def test_the_lru_keeps_a_bounded_number_loaded_and_reloads_the_same_data(data_dir):
    state = fresh_state(data_dir, cache_sessions=3, cache_documents=2)
    docs = [seed_document(state, sections=1) for _ in range(5)]
    sessions = [state.create_chat_session(d.sections[0].id, d.id) for d in docs for _ in range(2)]
    for k, session in enumerate(sessions):
        state.append_message(session.id, Message(role="user", content=f"m{k}"))
    assert len(state.chat_sessions) <= 3 and len(state.documents) <= 2
    assert len(state._session_marks) <= 3 and len(state._table) <= 5
    for k, session in enumerate(sessions):
        assert [m.content for m in state.get_chat_session(session.id).messages] == [f"m{k}"]
    assert [state.get_document(d.id).to_dict() for d in docs] == [
        fresh_state(data_dir).get_document(d.id).to_dict() for d in docs]


def test_a_pinned_session_is_never_unloaded(data_dir):
    state = fresh_state(data_dir, cache_sessions=1)
    doc = seed_document(state, sections=1)
    first = state.create_chat_session(doc.sections[0].id, doc.id)
    state.keep_loaded(lambda kind, item_id: item_id == first.id)
    for _ in range(3):
        state.create_chat_session(doc.sections[0].id, doc.id)
    assert first.id in state.chat_sessions and state.get_chat_session(first.id) is first


def test_deleted_ids_leave_no_table_entries_and_no_open_descriptors(data_dir):
    state = fresh_state(data_dir)
    warm = seed_document(state, sections=1)
    state.delete_document(warm.id)
    fds = open_fds()
    for _ in range(300):
        doc = seed_document(state, sections=2)
        session = state.create_chat_session(doc.sections[0].id, doc.id)
        state.append_message(session.id, Message(role="user", content="hello"))
        with state.edit_document(doc.id) as edited:
            edited.title = "Edited"
        if _ % 2:
            state.delete_chat_session(session.id)
        state.delete_document(doc.id)
    assert open_fds() <= fds
    assert len(state._table) == 0 and state.documents == {} and state.chat_sessions == {}
    assert state._session_marks == {} and state._table.marks["documents"] == {}
    assert state.store._locks == {} and state.store._journals == {}
    assert [name for name in os.listdir(Path(data_dir) / "locks") if name.endswith(".lock")] == []
