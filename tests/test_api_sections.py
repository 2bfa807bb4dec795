"""Sections over HTTP: create at a position, edit with version checks, move, delete, history and revert."""
from __future__ import annotations

import os

import pytest
from conftest import make_document, make_session

UNKNOWN = "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"


def _doc(client) -> dict:
    return make_document(client, sections=[{"title": "A", "content": "Alpha."}, {"title": "B"}, {"title": "C"}])


def _url(doc: dict, index: int = 0, suffix: str = "") -> str:
    return f"/api/documents/{doc['id']}/sections/{doc['sections'][index]['id']}{suffix}"


def _titles(client, doc: dict) -> list[str]:
    return [s["title"] for s in client.get(f"/api/documents/{doc['id']}").get_json()["sections"]]


def _section(client, doc: dict, section_id: str) -> dict:
    got = client.get(f"/api/documents/{doc['id']}").get_json()
    return next(s for s in got["sections"] if s["id"] == section_id)


# -- create -------------------------------------------------------------------------------

def test_create_appends_by_default(client):
    doc = _doc(client)
    resp = client.post(f"/api/documents/{doc['id']}/sections", json={"title": "D", "content": "Delta."})
    assert resp.status_code == 201
    section = resp.get_json()
    assert section["document_id"] == doc["id"]
    assert (section["title"], section["content"], section["type"], section["level"]) == ("D", "Delta.", "text", 1)
    assert (section["version"], section["status"], section["session_ids"]) == (1, "draft", [])
    assert _titles(client, doc) == ["A", "B", "C", "D"]


@pytest.mark.parametrize(("position", "titles"), [
    (0, ["New", "A", "B", "C"]),
    (1, ["A", "New", "B", "C"]),
    (3, ["A", "B", "C", "New"]),
    (None, ["A", "B", "C", "New"]),
])
def test_create_at_a_position(client, position, titles):
    doc = _doc(client)
    resp = client.post(f"/api/documents/{doc['id']}/sections", json={"title": "New", "position": position})
    assert resp.status_code == 201
    assert _titles(client, doc) == titles


def test_create_with_type_and_level(client):
    doc = _doc(client)
    body = {"title": "Refs", "type": "reference", "level": 6}
    section = client.post(f"/api/documents/{doc['id']}/sections", json=body).get_json()
    assert (section["type"], section["level"]) == ("reference", 6)


def test_create_in_an_empty_document(client):
    doc = make_document(client, sections=[])
    resp = client.post(f"/api/documents/{doc['id']}/sections", json={"title": "First", "position": 0})
    assert resp.status_code == 201
    assert _titles(client, doc) == ["First"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "title"),
    ({"title": 3}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"title": "T", "content": False}, "content"),
    ({"title": "T", "type": "chapter"}, "type"),
    ({"title": "T", "type": 1}, "type"),
    ({"title": "T", "level": 0}, "level"),
    ({"title": "T", "level": 7}, "level"),
    ({"title": "T", "level": "2"}, "level"),
    ({"title": "T", "level": True}, "level"),
    ({"title": "T", "level": 2.0}, "level"),
    ({"title": "T", "position": -1}, "position"),
    ({"title": "T", "position": 4}, "position"),
    ({"title": "T", "position": "1"}, "position"),
    ({"title": "T", "position": True}, "position"),
    ({"title": "T", "position": 1.5}, "position"),
    ({"title": "T", "status": "approved"}, "status"),
    ({"title": "T", "version": 1}, "version"),
])
def test_create_rejects_bad_input(client, body, field):
    doc = _doc(client)
    resp = client.post(f"/api/documents/{doc['id']}/sections", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert _titles(client, doc) == ["A", "B", "C"]


# -- patch ---------------------------------------------------------------------------------

def test_content_change_bumps_version_and_records_history(client):
    doc = _doc(client)
    resp = client.patch(_url(doc), json={"content": "Alpha, revised.", "version": 1, "summary": "Tightened"})
    assert resp.status_code == 200
    section = resp.get_json()
    assert (section["content"], section["version"]) == ("Alpha, revised.", 2)
    history = client.get(_url(doc, 0, "/versions")).get_json()
    assert history["current_version"] == 2
    assert [(v["version"], v["content"]) for v in history["versions"]] == [(1, "Alpha."), (2, "Alpha, revised.")]
    assert history["versions"][1]["summary"] == "Tightened"
    assert history["versions"][1]["source"] == {"kind": "edit", "user": "local"}  # who made it
    assert _section(client, doc, section["id"]) == section


def test_title_only_change_does_not_bump_version(client):
    doc = _doc(client)
    section = client.patch(_url(doc), json={"title": "Alpha section", "version": 1}).get_json()
    assert (section["title"], section["version"]) == ("Alpha section", 1)
    assert len(client.get(_url(doc, 0, "/versions")).get_json()["versions"]) == 1


def test_same_content_does_not_bump_version(client):
    doc = _doc(client)
    section = client.patch(_url(doc), json={"content": "Alpha.", "version": 1}).get_json()
    assert section["version"] == 1


@pytest.mark.parametrize(("field", "value"), [
    ("type", "header"), ("type", "reference"), ("level", 1), ("level", 6),
    ("status", "generated"), ("status", "reviewed"), ("status", "approved"), ("status", "draft"),
])
def test_patch_type_level_status(client, field, value):
    doc = _doc(client)
    resp = client.patch(_url(doc), json={field: value, "version": 1})
    assert resp.status_code == 200
    assert resp.get_json()[field] == value
    assert resp.get_json()["version"] == 1
    assert _section(client, doc, doc["sections"][0]["id"])[field] == value


def test_stale_version_is_a_409_with_the_current_version(client):
    doc = _doc(client)
    # Two tabs load version 1; the first saves, the second must not overwrite it.
    assert client.patch(_url(doc), json={"content": "Tab one.", "version": 1}).status_code == 200
    resp = client.patch(_url(doc), json={"content": "Tab two.", "version": 1})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["current_version"] == 2
    assert error["section"]["content"] == "Tab one."
    assert _section(client, doc, doc["sections"][0]["id"])["content"] == "Tab one."
    # Retrying with the version it was told about succeeds.
    retry = client.patch(_url(doc), json={"content": "Tab two.", "version": error["current_version"]})
    assert retry.status_code == 200
    assert retry.get_json()["version"] == 3


def test_a_version_from_the_future_is_a_conflict_too(client):
    doc = _doc(client)
    resp = client.patch(_url(doc), json={"title": "X", "version": 5})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["current_version"] == 1


def test_stale_title_change_is_rejected(client):
    doc = _doc(client)
    client.patch(_url(doc), json={"content": "v2", "version": 1})
    assert client.patch(_url(doc), json={"title": "Stale", "version": 1}).status_code == 409
    assert _section(client, doc, doc["sections"][0]["id"])["title"] == "A"


@pytest.mark.parametrize(("body", "field"), [
    ({"content": "x"}, "version"),
    ({"content": "x", "version": None}, "version"),
    ({"content": "x", "version": "1"}, "version"),
    ({"content": "x", "version": True}, "version"),
    ({"content": "x", "version": 0}, "version"),
    ({"content": "x", "version": 1.0}, "version"),
    ({"version": 1, "type": "poem"}, "type"),
    ({"version": 1, "type": None, "level": 0}, "level"),
    ({"version": 1, "level": 7}, "level"),
    ({"version": 1, "level": "2"}, "level"),
    ({"version": 1, "level": True}, "level"),
    ({"version": 1, "level": -1}, "level"),
    ({"version": 1, "status": "published"}, "status"),
    ({"version": 1, "status": ""}, "status"),
    ({"version": 1, "title": 5}, "title"),
    ({"version": 1, "title": "x" * 301}, "title"),
    ({"version": 1, "content": ["x"]}, "content"),
    ({"version": 1, "summary": 1}, "summary"),
    ({"version": 1, "position": 1}, "position"),
    ({"version": 1, "id": UNKNOWN}, "id"),
    ({"version": 1, "session_ids": []}, "session_ids"),
])
def test_patch_rejects_bad_input_and_changes_nothing(client, body, field):
    doc = _doc(client)
    resp = client.patch(_url(doc), json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert _section(client, doc, doc["sections"][0]["id"]) == doc["sections"][0]


def test_patch_content_over_the_limit_is_400(make_app):
    client = make_app(MAX_SECTION_CHARS=10).test_client()
    doc = make_document(client, sections=[{"title": "A"}])
    resp = client.patch(_url(doc), json={"content": "x" * 11, "version": 1})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "content"


# -- move --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("index", "body", "titles"), [
    (1, {"direction": "up"}, ["B", "A", "C"]),
    (1, {"direction": "down"}, ["A", "C", "B"]),
    (0, {"direction": "up"}, ["A", "B", "C"]),  # already first
    (2, {"direction": "down"}, ["A", "B", "C"]),  # already last
    (0, {"direction": "down"}, ["B", "A", "C"]),
    (2, {"direction": "up"}, ["A", "C", "B"]),
    (0, {"position": 2}, ["B", "C", "A"]),
    (2, {"position": 0}, ["C", "A", "B"]),
    (1, {"position": 1}, ["A", "B", "C"]),
])
def test_move(client, index, body, titles):
    doc = _doc(client)
    resp = client.post(_url(doc, index, "/move"), json=body)
    assert resp.status_code == 200
    assert [s["title"] for s in resp.get_json()["sections"]] == titles
    assert _titles(client, doc) == titles


@pytest.mark.parametrize(("body", "field"), [
    ({}, "position"),
    ({"direction": "left"}, "direction"),
    ({"direction": "UP"}, "direction"),
    ({"direction": 1}, "direction"),
    ({"position": -1}, "position"),
    ({"position": 3}, "position"),
    ({"position": "0"}, "position"),
    ({"position": False}, "position"),
    ({"position": 1, "steps": 2}, "steps"),
    ({"direction": "up", "position": 0}, "position"),
])
def test_move_rejects_bad_input(client, body, field):
    doc = _doc(client)
    resp = client.post(_url(doc, 1, "/move"), json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert _titles(client, doc) == ["A", "B", "C"]


def test_move_does_not_change_the_section(client):
    doc = _doc(client)
    moved = client.post(_url(doc, 0, "/move"), json={"direction": "down"}).get_json()["sections"][1]
    assert moved == doc["sections"][0]


# -- delete ------------------------------------------------------------------------------------

def test_delete_section_and_its_sessions(client, data_dir):
    doc = _doc(client)
    gone = [make_session(client, doc, 0), make_session(client, doc, 0)]
    kept = make_session(client, doc, 1)
    client.post(f"/api/sessions/{gone[0]['id']}/messages", json={"content": "Hello"})

    resp = client.delete(_url(doc, 0))
    assert resp.status_code == 200
    assert resp.get_json() == {"deleted": doc["sections"][0]["id"]}
    assert _titles(client, doc) == ["B", "C"]
    files = os.listdir(os.path.join(data_dir, "sessions"))
    for session in gone:
        assert client.get(f"/api/sessions/{session['id']}").status_code == 404
        assert [f for f in files if f.startswith(session["id"])] == []
    assert client.get(f"/api/sessions/{kept['id']}").status_code == 200
    assert _section(client, doc, doc["sections"][1]["id"])["session_ids"] == [kept["id"]]
    assert client.delete(_url(doc, 0)).status_code == 404


# -- unknown ids -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("patch", "", {"title": "x", "version": 1}),
    ("delete", "", None),
    ("post", "/move", {"direction": "up"}),
    ("get", "/versions", None),
    ("post", "/versions/1/revert", None),
    ("post", "/sessions", {}),
    ("get", "/sessions", None),
])
@pytest.mark.parametrize("section_id", [UNKNOWN, "not-a-uuid", "..", "own-of-another-document"])
def test_unknown_section_is_404(client, method, suffix, body, section_id):
    doc = _doc(client)
    if section_id == "own-of-another-document":
        section_id = make_document(client, title="Other")["sections"][0]["id"]
    resp = getattr(client, method)(f"/api/documents/{doc['id']}/sections/{section_id}{suffix}", json=body)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert _titles(client, doc) == ["A", "B", "C"]


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("patch", "", {"title": "x", "version": 1}),
    ("delete", "", None),
    ("post", "/move", {"direction": "up"}),
    ("get", "/versions", None),
    ("post", "/versions/1/revert", None),
])
def test_section_under_an_unknown_document_is_404(client, method, suffix, body):
    doc = _doc(client)
    url = f"/api/documents/{UNKNOWN}/sections/{doc['sections'][0]['id']}{suffix}"
    assert getattr(client, method)(url, json=body).status_code == 404


# -- versions and revert -------------------------------------------------------------------------

def test_versions_list_starts_with_the_created_version(client):
    doc = _doc(client)
    body = client.get(_url(doc, 0, "/versions")).get_json()
    assert body["current_version"] == 1
    [first] = body["versions"]
    assert (first["version"], first["content"], first["title"]) == (1, "Alpha.", "A")
    assert first["created_at"]
    assert first["summary"]


def test_revert_creates_a_new_version_with_the_old_content(client):
    doc = _doc(client)
    client.patch(_url(doc), json={"content": "Second.", "version": 1})
    client.patch(_url(doc), json={"content": "Third.", "version": 2})

    resp = client.post(_url(doc, 0, "/versions/1/revert"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["previous_content"] == "Third."
    assert (body["section"]["content"], body["section"]["version"]) == ("Alpha.", 4)
    history = client.get(_url(doc, 0, "/versions")).get_json()
    assert [v["content"] for v in history["versions"]] == ["Alpha.", "Second.", "Third.", "Alpha."]
    assert history["versions"][-1]["source"] == {"kind": "revert", "from_version": 1, "user": "local"}
    assert _section(client, doc, doc["sections"][0]["id"])["content"] == "Alpha."
    # The editor's old version number is now stale.
    assert client.patch(_url(doc), json={"content": "x", "version": 3}).status_code == 409


@pytest.mark.parametrize("version", ["0", "2", "99", "-1", "abc", "1.0"])
def test_revert_to_an_unknown_version_is_404(client, version):
    doc = _doc(client)
    resp = client.post(_url(doc, 0, f"/versions/{version}/revert"))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get(_url(doc, 0, "/versions")).get_json()["current_version"] == 1


def test_history_survives_a_restart(make_app):
    client = make_app().test_client()
    doc = _doc(client)
    client.patch(_url(doc), json={"content": "Second.", "version": 1})
    client.post(_url(doc, 0, "/versions/1/revert"))
    before = client.get(_url(doc, 0, "/versions")).get_json()
    again = make_app().test_client()
    assert again.get(_url(doc, 0, "/versions")).get_json() == before
    assert before["current_version"] == 3


def test_concurrent_edits_of_one_version_let_exactly_one_win(app):
    """Eight tabs save over version 1 at once: one succeeds, seven are told about the conflict."""
    import threading

    client = app.test_client()
    doc = _doc(client)
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def save(n: int) -> None:
        own = app.test_client()
        barrier.wait()
        resp = own.patch(_url(doc), json={"content": f"Tab {n}.", "version": 1})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] + [409] * 7
    history = client.get(_url(doc, 0, "/versions")).get_json()
    assert history["current_version"] == 2
    assert len(history["versions"]) == 2
