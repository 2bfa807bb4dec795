"""A background compaction trims the journal without holding the session's lock while it writes."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from vice_ai.domain.models import Document, Message, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store


def setup(data_dir: str) -> tuple[AppState, str]:
    state = AppState(Store(data_dir), compact_bytes=2048, inline_compact_bytes=0)  # compactions in the background
    doc = Document(id=new_id(), title="Grant")
    doc.sections = [Section(id=new_id(), document_id=doc.id, title="Summary")]
    state.create_document(doc)
    return state, state.create_chat_session(doc.sections[0].id, doc.id).id


def contents(state: AppState, session_id: str) -> list[str]:
    return [m.content for m in state.get_chat_session(session_id).messages]


def test_appends_while_the_trimmed_journal_is_written_are_kept(data_dir, monkeypatch):
    state, session_id = setup(data_dir)
    real_stage, staged = state.store.stage_journal, []

    def stage_while_appending(kind: str, item_id: str, tail: bytes) -> str:
        staged.append(tail)
        if len(staged) == 1:
            # Another thread appends now: it must not wait for the compactor (no lock is held here).
            other = threading.Thread(target=state.append_message,
                                     args=(session_id, Message(role="user", content="during the trim")))
            other.start()
            other.join(10)
            assert not other.is_alive(), "the append waited for the journal being written"
        return real_stage(kind, item_id, tail)
    monkeypatch.setattr(state.store, "stage_journal", stage_while_appending)

    gate = threading.Event()
    real_trim = state._trim_journal

    def trim_after_more_appends(*args: object) -> None:
        gate.wait(10)  # the snapshot is in; the journal still holds everything
        real_trim(*args)  # type: ignore[arg-type]
    monkeypatch.setattr(state, "_trim_journal", trim_after_more_appends)

    sent = [f"m{k} " + "x" * 200 for k in range(20)]
    for text in sent:
        state.append_message(session_id, Message(role="user", content=text))
    state.append_message(session_id, Message(role="user", content="after the snapshot"))
    gate.set()
    assert state.compactor.wait_idle(30)
    expected = [*sent, "after the snapshot", "during the trim"]
    assert len(staged) >= 2  # the first staged tail missed the append made meanwhile: staged again
    journal = Path(data_dir) / "sessions" / f"{session_id}.journal"
    seqs = [json.loads(line)["seq"] for line in journal.read_bytes().rstrip(b"\0").splitlines()]
    snapshot = json.loads((Path(data_dir) / "sessions" / f"{session_id}.json").read_bytes())
    assert seqs == list(range(snapshot["journal_base"] + 1, snapshot["journal_base"] + 1 + len(seqs)))
    assert contents(state, session_id) == expected
    assert contents(AppState(Store(data_dir)), session_id) == expected  # after a restart
    state.append_message(session_id, Message(role="user", content="later"))
    assert contents(AppState(Store(data_dir)), session_id) == [*expected, "later"]
    state.close()


def test_another_process_sees_the_trimmed_journal_as_a_new_file(data_dir):
    state, session_id = setup(data_dir)
    other = AppState(Store(data_dir), compact_bytes=2048, inline_compact_bytes=0)
    for k in range(30):
        writer = state if k % 2 else other
        writer.append_message(session_id, Message(role="user", content=f"m{k} " + "y" * 200))
    for s in (state, other):
        assert s.compactor.wait_idle(30)
    expected = [f"m{k} " + "y" * 200 for k in range(30)]
    assert contents(state, session_id) == expected
    assert contents(other, session_id) == expected
    other.append_message(session_id, Message(role="user", content="last"))
    assert contents(state, session_id) == [*expected, "last"]
    state.close()
    other.close()
