"""The document list's cards: checked without locks, re-read only where something changed, in any process."""
from __future__ import annotations

from vice_ai.domain.models import Document, Section, new_id
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store


def seed(state: AppState, title: str = "Grant") -> Document:
    doc = Document(id=new_id(), title=title)
    doc.sections = [Section(id=new_id(), document_id=doc.id, title="Summary")]
    return state.create_document(doc)


def titles(state: AppState) -> dict[str, str]:
    return {card.id: card.title for card in state.document_cards()}


def count_calls(monkeypatch, obj, name: str) -> list[str]:
    calls: list[str] = []
    real = getattr(obj, name)

    def counted(*args):
        calls.append(args[-1])
        return real(*args)
    monkeypatch.setattr(obj, name, counted)
    return calls


def test_changes_made_through_another_store_are_in_the_next_list(data_dir):
    # Two AppStates on one folder share nothing in memory, as two processes do.
    mine, other = AppState(Store(data_dir)), AppState(Store(data_dir))
    kept, renamed, deleted = seed(mine, "Kept"), seed(mine, "Old name"), seed(mine, "Deleted")
    assert titles(mine) == {kept.id: "Kept", renamed.id: "Old name", deleted.id: "Deleted"}
    with other.edit_document(renamed.id) as doc:
        doc.title = "New name"
        doc.shared_with = [{"user": "u1", "access": "read"}]
    other.delete_document(deleted.id)
    added = seed(other, "Added")
    cards = {card.id: card for card in mine.document_cards()}
    assert {i: c.title for i, c in cards.items()} == {kept.id: "Kept", renamed.id: "New name", added.id: "Added"}
    assert cards[renamed.id].shared_with == ({"user": "u1", "access": "read"},)
    assert cards[renamed.id].summary() == {**other.get_document(renamed.id).summary()}
    with other.edit_document(kept.id) as doc:  # a journal record, no new snapshot
        doc.sections[0].content = "changed"
        doc.title = "Kept, edited"
    assert titles(mine)[kept.id] == "Kept, edited"


def test_an_unchanged_folder_is_listed_without_reading_any_document(data_dir, monkeypatch):
    state = AppState(Store(data_dir))
    docs = [seed(state, f"Doc {k}") for k in range(5)]
    state.document_cards()
    peeks = count_calls(monkeypatch, state.store, "peek_generations")
    reads = count_calls(monkeypatch, state, "peek_document")
    assert titles(state) == {d.id: d.title for d in docs}
    assert peeks == [] and reads == []
    other = AppState(Store(data_dir))
    with other.edit_document(docs[2].id) as doc:
        doc.title = "Changed elsewhere"
    assert titles(state)[docs[2].id] == "Changed elsewhere"
    assert sorted(peeks) == sorted(d.id for d in docs)  # each counter read once, without its lock
    assert reads == [docs[2].id]  # and only the changed document read again


def test_listing_does_not_fill_the_lru_of_loaded_documents(data_dir):
    writer = AppState(Store(data_dir))
    docs = [seed(writer, f"Doc {k}") for k in range(6)]
    state = AppState(Store(data_dir), cache_documents=2)
    state.get_document(docs[0].id)
    assert len(state.document_cards()) == 6
    assert list(state.documents) == [docs[0].id]
    assert list(state.store._locks) == [f"documents-{docs[0].id}"]  # none kept for what was only listed


def test_a_folder_without_a_change_mark_is_still_listed_right(data_dir):
    # Written by a version without the mark (or the mark file removed): every document's counters are read.
    state = AppState(Store(data_dir))
    doc = seed(state, "Before")
    (state.store.root / "locks" / "documents.changes").unlink()
    assert titles(state) == {doc.id: "Before"}
    other = AppState(Store(data_dir))
    with other.edit_document(doc.id) as edited:
        edited.title = "After"
    assert titles(state) == {doc.id: "After"}


def test_the_api_list_sees_a_change_made_by_another_app_process(data_dir, make_app, tmp_path):
    from app_process import AppProcess
    client = make_app().test_client()
    headers = {"X-Vice-CSRF": "1"}
    first = client.post("/api/documents", json={"title": "First"}, headers=headers).get_json()
    assert [d["title"] for d in client.get("/api/documents").get_json()["documents"]] == ["First"]
    with AppProcess(data_dir) as other:
        assert other.request("PATCH", f"/api/documents/{first['id']}", {"title": "Renamed there"})[0] == 200
        assert other.request("POST", "/api/documents", {"title": "Made there"})[0] == 201
        listed = client.get("/api/documents").get_json()["documents"]
        assert sorted(d["title"] for d in listed) == ["Made there", "Renamed there"]
        assert other.request("DELETE", f"/api/documents/{first['id']}")[0] in (200, 204)
        listed = client.get("/api/documents").get_json()["documents"]
        assert [d["title"] for d in listed] == ["Made there"]
