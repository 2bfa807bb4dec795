"""Search and access (owner, a reader through a share, a stranger), and the index file: it survives a restart, and
it is rebuilt from the JSON files when deleted, damaged, or after its writes failed (never failing a user's write)."""
from __future__ import annotations

import shutil
from pathlib import Path

from auth_helpers import create_user, password_app, signin, two_users
from conftest import make_document, make_session

from vice_ai.services import services


def search(client, q: str, **params) -> list[dict]:
    resp = client.get("/api/search", query_string={"q": q, **params})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["results"]


def test_search_shows_only_what_the_user_may_read(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    create_user(alice, "carol")
    carol = app.test_client()
    assert signin(carol, "carol").status_code == 200
    doc = make_document(alice, "Secret merger plan")
    session = make_session(alice, doc, title="Merger talk")
    assert alice.post(f"/api/sessions/{session['id']}/messages", json={"content": "Merger price 9 million"}
                      ).status_code == 201
    own = make_document(bob, "Bob's merger notes")
    owned = len(search(alice, "merger"))
    assert owned >= 3  # the document, the chat, the message

    assert [r["document_id"] for r in search(bob, "merger")] == [own["id"]]  # not shared yet
    assert search(carol, "merger") == []
    assert bob.get("/api/search", query_string={"q": "merger", "document_id": doc["id"]}).status_code == 404

    assert alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"}).status_code == 200
    shared = [r for r in search(bob, "merger") if r["document_id"] == doc["id"]]
    assert len(shared) == owned  # a reader reads every chat of the document
    assert {r["session_id"] for r in shared if r["kind"] == "message"} == {session["id"]}
    assert len(search(bob, "merger", document_id=doc["id"])) == owned
    assert search(carol, "merger") == []
    assert carol.get("/api/search", query_string={"q": "merger", "document_id": doc["id"]}).status_code == 404
    assert search(carol, "9 million") == []

    assert alice.delete(f"/api/documents/{doc['id']}/shares/bob").status_code == 200
    assert [r["document_id"] for r in search(bob, "merger")] == [own["id"]]
    assert [r["document_id"] for r in search(alice, "merger notes")] == []


def index_path(app) -> Path:
    return services(app).search.index.path


def test_the_index_is_there_after_a_restart_and_rebuilt_when_deleted_or_damaged(make_app):
    app = make_app()
    client = app.test_client()
    doc = make_document(client, "Orchard survey")
    session = make_session(client, doc, title="Pruning")
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "When to prune pears?"}
                       ).status_code == 201
    expected = sorted(r["kind"] for r in search(client, "pears") + search(client, "orchard") + search(client, "prun"))
    assert expected == ["chat", "document", "message", "message"]  # "prun" finds the chat and the question
    assert services(app).search.rebuilds == 1  # a new data folder: built once, empty

    def restart():
        restarted = make_app()
        found = restarted.test_client()
        got = sorted(r["kind"] for r in search(found, "pears") + search(found, "orchard") + search(found, "prun"))
        assert got == expected
        return restarted

    assert index_path(app).exists()
    again = restart()
    assert services(again).search.rebuilds == 0  # the index was kept, not rebuilt

    services(again).search.shutdown()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_path(again)}{suffix}").unlink(missing_ok=True)
    third = restart()
    assert services(third).search.rebuilds == 1
    services(third).search.shutdown()

    index_path(again).write_bytes(b"this is not an SQLite database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{index_path(again)}{suffix}").unlink(missing_ok=True)
    assert services(restart()).search.rebuilds == 1


def test_a_failing_index_never_fails_a_write_and_is_rebuilt_when_it_can_be(make_app):
    app = make_app()
    client = app.test_client()
    found = services(app).search
    assert search(client, "anything") == []  # built
    found.shutdown()
    folder = index_path(app).parent
    shutil.rmtree(folder)
    index_path(app).mkdir(parents=True)  # a folder where the file should be: nothing can open it
    app2 = make_app()
    client2 = app2.test_client()
    search2 = services(app2).search
    search2.wait_seconds = 0.5
    doc = make_document(client2, "Written while the index is down")  # the write succeeds
    resp = client2.get("/api/search", query_string={"q": "written"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "busy"
    assert client2.get(f"/api/documents/{doc['id']}").status_code == 200
    shutil.rmtree(folder)  # the trouble goes: the next try rebuilds from the files
    search2.wait_seconds = 40
    assert [r["document_id"] for r in search(client2, "written")] == [doc["id"]]


def test_a_damaged_index_found_by_a_search_is_rebuilt(make_app):
    app = make_app()
    client = app.test_client()
    doc = make_document(client, "Glacier data")
    assert len(search(client, "glacier")) == 1
    found = services(app).search
    found.mark_for_rebuild()  # what a failed search does
    assert [r["document_id"] for r in search(client, "glacier")] == [doc["id"]]
    assert found.rebuilds == 2


def test_two_apps_sharing_the_data_folder_write_one_index(make_app):
    """As two processes would: each writes its own changes into the shared file (WAL, busy timeout)."""
    first, second = make_app(), make_app()
    one, two = first.test_client(), second.test_client()
    docs = [make_document(one if i % 2 else two, f"Shared folder note {i}") for i in range(6)]
    assert services(first).search.flush(10) and services(second).search.flush(10)
    for client in (one, two):
        assert sorted(r["document_id"] for r in search(client, "folder note")) == sorted(d["id"] for d in docs)
    # A change made by one app is found, and the old text gone, through the other.
    assert one.patch(f"/api/documents/{docs[0]['id']}", json={"title": "Renamed elsewhere"}).status_code == 200
    assert services(first).search.flush(10)
    assert [r["document_id"] for r in search(two, "renamed")] == [docs[0]["id"]]
    assert len(search(two, "folder note")) == 5
