"""Documents over HTTP: list, create, get, patch, delete (with cascade), and their validation."""
from __future__ import annotations

import os

import pytest
from conftest import make_document, make_session

from vice_ai.domain.models import now


def _next_millisecond() -> None:
    """Wait until the server clock shows a new timestamp, so 'newest first' has something to order."""
    start = now()
    while now() == start:
        pass


# -- list -------------------------------------------------------------------------------

def test_list_is_empty_at_first(client):
    resp = client.get("/api/documents")
    assert resp.status_code == 200
    assert resp.get_json() == {"documents": [], "has_more": False, "next_cursor": None}


def test_list_newest_first_with_summaries(client):
    first = make_document(client, title="First")
    _next_millisecond()
    second = make_document(client, title="Second", sections=[])
    docs = client.get("/api/documents").get_json()["documents"]
    assert [d["id"] for d in docs] == [second["id"], first["id"]]
    assert docs[1]["title"] == "First"
    assert docs[1]["section_count"] == 2
    assert docs[0]["section_count"] == 0
    assert "sections" not in docs[0]


def test_list_puts_a_just_edited_document_first(client):
    first = make_document(client, title="First")
    _next_millisecond()
    second = make_document(client, title="Second")
    _next_millisecond()
    client.patch(f"/api/documents/{first['id']}", json={"title": "First, edited"})
    docs = client.get("/api/documents").get_json()["documents"]
    assert [d["id"] for d in docs] == [first["id"], second["id"]]


# -- create -----------------------------------------------------------------------------

def test_create_without_sections(client):
    resp = client.post("/api/documents", json={"title": "Notes", "description": "Loose ends"})
    assert resp.status_code == 201
    doc = resp.get_json()
    assert doc["title"] == "Notes"
    assert doc["description"] == "Loose ends"
    assert doc["sections"] == []
    assert doc["section_count"] == 0
    assert doc["created_at"] and doc["updated_at"]
    assert client.get(f"/api/documents/{doc['id']}").get_json() == doc


def test_create_with_sections_in_order_with_defaults(client):
    doc = make_document(client, sections=[
        {"title": "Intro", "content": "Hello.", "type": "header", "level": 2},
        {"title": "Body"},
    ])
    intro, body = doc["sections"]
    assert (intro["title"], intro["content"], intro["type"], intro["level"]) == ("Intro", "Hello.", "header", 2)
    assert (body["title"], body["content"], body["type"], body["level"]) == ("Body", "", "text", 1)
    for section in doc["sections"]:
        assert section["document_id"] == doc["id"]
        assert section["version"] == 1
        assert section["status"] == "draft"
        assert section["session_ids"] == []
        assert "history" not in section
    assert intro["id"] != body["id"]


def test_created_document_is_on_disk(client, data_dir):
    doc = make_document(client)
    assert os.path.exists(os.path.join(data_dir, "documents", f"{doc['id']}.json"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 5}, "title"),
        ({"title": True}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": {"a": 1}}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "ok", "description": 3}, "description"),
        ({"title": "ok", "description": "d" * 10_001}, "description"),
        ({"title": "ok", "owner": "me"}, "owner"),
        ({"title": "ok", "sections": "Intro"}, "sections"),
        ({"title": "ok", "sections": {"title": "Intro"}}, "sections"),
        ({"title": "ok", "sections": {}}, "sections"),
        ({"title": "ok", "sections": ""}, "sections"),
        ({"title": "ok", "sections": 0}, "sections"),
        ({"title": "ok", "sections": False}, "sections"),
        ({"title": "ok", "sections": ["Intro"]}, "sections[0]"),
        ({"title": "ok", "sections": [None]}, "sections[0]"),
        ({"title": "ok", "sections": [{"content": "no title"}]}, "sections[0].title"),
        ({"title": "ok", "sections": [{"title": 7}]}, "sections[0].title"),
        ({"title": "ok", "sections": [{"title": "A", "colour": "red"}]}, "sections[0]"),
        ({"title": "ok", "sections": [{"title": "A", "type": "poem"}]}, "sections[0].type"),
        ({"title": "ok", "sections": [{"title": "A", "level": 0}]}, "sections[0].level"),
        ({"title": "ok", "sections": [{"title": "A", "level": 7}]}, "sections[0].level"),
        ({"title": "ok", "sections": [{"title": "A", "level": "2"}]}, "sections[0].level"),
        ({"title": "ok", "sections": [{"title": "A", "level": True}]}, "sections[0].level"),
        ({"title": "ok", "sections": [{"title": "A", "content": 1}]}, "sections[0].content"),
        ({"title": "ok", "sections": [{"title": "A"}, {"title": "B", "status": "approved"}]}, "sections[1]"),
        ({"title": "ok", "sections": [{"title": "A"}, {"title": "B", "level": 9}]}, "sections[1].level"),
    ],
)
def test_create_rejects_bad_input(client, body, field):
    resp = client.post("/api/documents", json=body)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["field"] == field
    assert client.get("/api/documents").get_json()["documents"] == []


def test_create_rejects_too_many_sections(client):
    resp = client.post("/api/documents", json={"title": "Big", "sections": [{"title": "s"}] * 1001})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "sections"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("[1, 2]", "application/json"),
        ('"a title"', "application/json"),
        ("{not json", "application/json"),
        ("title=Notes", "application/x-www-form-urlencoded"),
    ],
)
def test_create_rejects_a_body_that_is_not_a_json_object(client, data, content_type):
    resp = client.post("/api/documents", data=data, content_type=content_type)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"


def test_create_accepts_a_title_at_the_limit(client):
    resp = client.post("/api/documents", json={"title": "x" * 300})
    assert resp.status_code == 201


def test_title_limit_is_configurable(make_app):
    client = make_app(MAX_TITLE_CHARS=10).test_client()
    assert client.post("/api/documents", json={"title": "x" * 10}).status_code == 201
    assert client.post("/api/documents", json={"title": "x" * 11}).status_code == 400


def test_section_content_limit_is_configurable(make_app):
    client = make_app(MAX_SECTION_CHARS=20).test_client()
    ok = client.post("/api/documents", json={"title": "t", "sections": [{"title": "s", "content": "c" * 20}]})
    assert ok.status_code == 201
    too_long = client.post("/api/documents", json={"title": "t", "sections": [{"title": "s", "content": "c" * 21}]})
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["field"] == "sections[0].content"


# -- get ----------------------------------------------------------------------------------

def test_get_returns_sections_in_order(client):
    doc = make_document(client)
    got = client.get(f"/api/documents/{doc['id']}").get_json()
    assert [s["title"] for s in got["sections"]] == ["Summary", "Methods"]
    assert got["sections"][0]["content"].startswith("We ask for funding.")


UNKNOWN_IDS = [
    "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11",  # a well-formed uuid nobody created
    "2F1B4C1E-8A4E-4A43-9A7C-2D5B8F0C9E11",  # not the canonical spelling the server hands out
    "not-a-uuid",
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "123",
]


@pytest.mark.parametrize("doc_id", UNKNOWN_IDS)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"title": "x"}),
        ("delete", "", None),
        ("post", "/sections", {"title": "x"}),
    ],
)
def test_unknown_or_malformed_document_ids_are_404(client, data_dir, doc_id, method, suffix, body):
    resp = getattr(client, method)(f"/api/documents/{doc_id}{suffix}", json=body)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert os.listdir(os.path.join(data_dir, "documents")) == []


# -- patch ----------------------------------------------------------------------------------

def test_patch_title_and_description(client):
    doc = make_document(client)
    _next_millisecond()
    resp = client.patch(f"/api/documents/{doc['id']}", json={"title": "Renamed", "description": "Now with words"})
    assert resp.status_code == 200
    patched = resp.get_json()
    assert (patched["title"], patched["description"]) == ("Renamed", "Now with words")
    assert patched["updated_at"] > doc["updated_at"]
    assert patched["created_at"] == doc["created_at"]
    assert [s["id"] for s in patched["sections"]] == [s["id"] for s in doc["sections"]]
    assert client.get(f"/api/documents/{doc['id']}").get_json() == patched


def test_patch_only_description_keeps_title(client):
    doc = make_document(client, title="Keep me")
    patched = client.patch(f"/api/documents/{doc['id']}", json={"description": ""}).get_json()
    assert patched["title"] == "Keep me"
    assert patched["description"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "  "}, "title"),
        ({"title": 1}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"description": ["d"]}, "description"),
        ({"sections": []}, "sections"),
        ({"id": "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"}, "id"),
    ],
)
def test_patch_rejects_bad_input_and_changes_nothing(client, body, field):
    doc = make_document(client)
    resp = client.patch(f"/api/documents/{doc['id']}", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert client.get(f"/api/documents/{doc['id']}").get_json() == doc


# -- delete ---------------------------------------------------------------------------------

def test_delete_then_404(client):
    doc = make_document(client)
    resp = client.delete(f"/api/documents/{doc['id']}")
    assert resp.status_code == 200
    assert resp.get_json() == {"deleted": doc["id"]}
    assert client.get(f"/api/documents/{doc['id']}").status_code == 404
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 404
    assert client.get("/api/documents").get_json()["documents"] == []


def test_delete_cascades_to_sections_sessions_on_disk(client, data_dir):
    doc = make_document(client)
    other = make_document(client, title="Other")
    sessions = [make_session(client, doc, 0), make_session(client, doc, 0), make_session(client, doc, 1)]
    kept = make_session(client, other, 0)
    client.post(f"/api/sessions/{sessions[0]['id']}/messages", json={"content": "What is the budget?"})
    sessions_dir = os.path.join(data_dir, "sessions")
    assert any(name.startswith(sessions[0]["id"]) for name in os.listdir(sessions_dir))

    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200

    for session in sessions:
        assert client.get(f"/api/sessions/{session['id']}").status_code == 404
        assert [n for n in os.listdir(sessions_dir) if n.startswith(session["id"])] == []
    assert not os.path.exists(os.path.join(data_dir, "documents", f"{doc['id']}.json"))
    # The other document and its session are untouched.
    assert client.get(f"/api/sessions/{kept['id']}").status_code == 200
    assert client.get(f"/api/documents/{other['id']}").status_code == 200


def test_delete_is_final_after_a_restart(make_app):
    first = make_app()
    client = first.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    client.delete(f"/api/documents/{doc['id']}")
    again = make_app().test_client()
    assert again.get(f"/api/documents/{doc['id']}").status_code == 404
    assert again.get(f"/api/sessions/{session['id']}").status_code == 404
    assert again.get("/api/documents").get_json()["documents"] == []
