"""The declared schemas of the document routes: bad input names its field; the OpenAPI document says what is read."""
from __future__ import annotations

from typing import Any

import pytest
from conftest import make_document
from openapi_spec_validator import validate as validate_spec

from vice_ai.api.declare import declaration_of
from vice_ai.api.schemas.documents import SectionConflictOut

# Blueprints (and Flask's static route) whose every route is declared with pydantic models.
MINE = ("documents", "sections", "sharing", "export", "web", "auth_pages", "system", "openapi")


def _error(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request"
    return error


@pytest.fixture
def doc(client) -> dict:
    return make_document(client, sections=[{"title": "A", "content": "Alpha."}, {"title": "B"}])


def _urls(doc: dict) -> dict[str, str]:
    section = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    return {"documents": "/api/documents", "document": f"/api/documents/{doc['id']}",
            "sections": f"/api/documents/{doc['id']}/sections", "section": section, "move": f"{section}/move",
            "share": f"/api/documents/{doc['id']}/shares/bob"}


# ---- bodies ----

@pytest.mark.parametrize(("method", "url", "body", "field", "message"), [
    ("post", "documents", {"title": "t", "sections": [{"title": "s", "level": 9}]}, "sections[0].level",
     "'sections[0].level' must be between 1 and 6."),
    ("post", "documents", {"title": "t", "sections": [{"title": "s"}, {"title": "s", "type": "poem"}]},
     "sections[1].type", "'sections[1].type' must be one of: header, text, reference."),
    ("post", "documents", {"title": "t", "sections": [{"title": "s", "level": 2.0}]}, "sections[0].level",
     "'sections[0].level' must be an integer."),
    ("post", "documents", {"title": "t", "sections": [{"title": "s", "colour": "red", "id": "x"}]}, "sections[0]",
     "'sections[0]': unknown field(s): colour, id (a section has title, content, type, level)."),
    ("post", "documents", {"title": "t", "sections": [{"title": "s"}] * 1001}, "sections",
     "'sections' has more than 1000 items."),
    ("post", "documents", {"title": " \t "}, "title", "'title' must not be empty."),
    ("post", "documents", {"title": "t", "description": "d" * 10_001}, "description",
     "'description' is longer than 10000 characters."),
    ("post", "documents", {"title": "t", "owner": "me"}, "owner", "Unknown field(s): owner."),
    ("patch", "document", {"title": ""}, "title", "'title' must not be empty."),
    ("patch", "document", {"description": 5}, "description", "'description' must be a string."),
    ("post", "sections", {"title": "T", "position": -1}, "position", "'position' must be between 0 and 1000."),
    ("post", "sections", {"title": "T", "position": True}, "position", "'position' must be an integer."),
    ("post", "sections", {"title": "T", "colour": "red"}, "colour", "Unknown field(s): colour."),
    ("patch", "section", {"content": "x"}, "version", "'version' is required."),
    ("patch", "section", {"version": 0}, "version", "'version' must be between 1 and 9007199254740992."),
    ("patch", "section", {"version": "1"}, "version", "'version' must be an integer."),
    ("patch", "section", {"version": 1, "status": "published"}, "status",
     "'status' must be one of: draft, generated, reviewed, approved."),
    ("patch", "section", {"version": 1, "summary": "s" * 501}, "summary", "'summary' is longer than 500 characters."),
    ("post", "move", {"direction": "left"}, "direction", "'direction' must be one of: up, down."),
    ("post", "move", {"position": 1.5}, "position", "'position' must be an integer."),
    ("put", "share", {}, "access", "'access' is required."),
    ("put", "share", {"access": "admin"}, "access", "'access' must be one of: read, edit."),
    ("put", "share", {"access": "read", "until": "May"}, "until", "Unknown field(s): until."),
])
def test_bad_bodies_name_the_field(client, doc, method, url, body, field, message):
    error = _error(getattr(client, method)(_urls(doc)[url], json=body))
    assert (error["field"], error["message"]) == (field, message)
    assert client.get(f"/api/documents/{doc['id']}").get_json() == doc  # nothing changed


@pytest.mark.parametrize("url", ["documents", "document", "sections", "section", "move", "share"])
def test_hardened_json_on_every_body(client, doc, url):
    method = {"documents": "post", "document": "patch", "sections": "post", "section": "patch", "move": "post",
              "share": "put"}[url]
    send = getattr(client, method)
    error = _error(send(_urls(doc)[url], data=b'{"title": "a\\ud800b"}', content_type="application/json"))
    assert error["field"] == "title" and "surrogate" in error["message"]
    error = _error(send(_urls(doc)[url], data="[" * 990 + "]" * 990, content_type="application/json"))
    assert "nested more than 32 levels" in error["message"]
    assert "body must be a JSON object" in _error(send(_urls(doc)[url], json=[1]))["message"]
    assert client.get(f"/api/documents/{doc['id']}").get_json() == doc


def test_a_lone_surrogate_in_a_section_title_names_its_path(client):
    raw = b'{"title": "t", "sections": [{"title": "ok"}, {"title": "\\udc00"}]}'
    error = _error(client.post("/api/documents", data=raw, content_type="application/json"))
    assert error["field"] == "sections[1].title"
    assert client.get("/api/documents").get_json()["documents"] == []


def test_null_means_the_default_or_no_change(client):
    resp = client.post("/api/documents", json={"title": "t", "description": None, "sections": [
        {"title": "", "content": None, "type": None, "level": None}]})
    assert resp.status_code == 201
    created = resp.get_json()
    assert created["description"] == ""
    section = created["sections"][0]
    assert (section["title"], section["content"], section["type"], section["level"]) == ("", "", "text", 1)
    assert client.post("/api/documents", json={"title": "u", "sections": None}).get_json()["sections"] == []
    url = f"/api/documents/{created['id']}/sections/{section['id']}"
    patched = client.patch(url, json={"version": 1, "title": None, "content": None, "level": 3, "summary": None})
    assert patched.status_code == 200 and (patched.get_json()["level"], patched.get_json()["version"]) == (3, 1)
    same = client.patch(f"/api/documents/{created['id']}", json={"title": None, "description": None})
    assert same.status_code == 200 and same.get_json()["title"] == "t"


def test_config_limits_reach_the_section_schemas(make_app):
    client = make_app(MAX_SECTION_CHARS=5, MAX_TITLE_CHARS=4).test_client()
    doc = make_document(client, title="Doc", sections=[{"title": "A"}])
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    assert _error(client.patch(url, json={"version": 1, "content": "x" * 6})) == {
        "code": "bad_request", "message": "'content' is longer than 5 characters.", "field": "content", "limit": 5}
    error = _error(client.post(f"/api/documents/{doc['id']}/sections", json={"title": "Title"}))
    assert (error["field"], error["limit"]) == ("title", 4)
    assert client.patch(url, json={"version": 1, "content": "x" * 5}).status_code == 200


def test_a_stale_version_answers_the_declared_conflict_shape(client, doc):
    url = _urls(doc)["section"]
    assert client.patch(url, json={"version": 1, "content": "First."}).status_code == 200
    stale = client.patch(url, json={"version": 1, "content": "Second."})
    assert stale.status_code == 409
    conflict = SectionConflictOut.model_validate(stale.get_json())
    assert (conflict.error.current_version, conflict.error.section.content) == (2, "First.")


# ---- query strings and pages ----

@pytest.mark.parametrize(("query", "field", "message"), [
    ("format=pdf", "format", "'format' must be one of: markdown, json, docx, bundle."),
    ("chats=perhaps", "chats", "'chats' must be true or false."),
    ("colour=red", "colour", "Unknown field(s): colour."),
    ("format=json&format=markdown", "format", "'format' is given more than once."),
])
def test_bad_export_queries_name_the_parameter(client, doc, query, field, message):
    error = _error(client.get(f"/api/documents/{doc['id']}/export?{query}"))
    assert (error["field"], error["message"]) == (field, message)


def test_export_query_values(client, doc):
    for query in ("", "?chats=0", "?chats=false", "?format=markdown&chats=no"):
        resp = client.get(f"/api/documents/{doc['id']}/export{query}")
        assert resp.status_code == 200 and resp.mimetype == "text/markdown", query
    assert client.get(f"/api/documents/{doc['id']}/export?chats=true").mimetype == "text/markdown"
    got = client.get(f"/api/documents/{doc['id']}/export?format=json")
    assert got.mimetype == "application/json" and got.headers["Content-Disposition"].endswith('.json"')
    assert set(got.get_json()) == {"document", "sessions"}


def test_sign_in_page_reads_next_and_ignores_other_parameters(client):
    resp = client.get("/signin?next=/documents/abc&utm_source=mail")
    assert resp.status_code == 302 and resp.headers["Location"] == "/documents/abc"  # local mode: no sign-in
    assert client.get("/signin").headers["Location"] == "/"


def test_pages_and_static_files_still_answer(client, doc):
    assert client.get("/").status_code == 200
    assert client.get(f"/documents/{doc['id']}").status_code == 200
    missing = client.get("/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    with client.get("/static/js/api.js") as static:  # a file response: closed, or its file is left open
        assert static.status_code == 200 and b"export" in static.get_data()
    assert client.get("/static/js/nothing.js").status_code == 404


# ---- the OpenAPI document ----

def _openapi(client) -> dict[str, Any]:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    validate_spec(doc)
    return doc


def _op(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"][path][method]


def _ref(schema: dict[str, Any]) -> str:
    return schema["$ref"].rsplit("/", 1)[-1]


def test_every_route_of_these_blueprints_is_declared(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == "static" or r.endpoint.split(".")[0] in MINE]
    assert len(rules) >= 24
    for rule in rules:
        decl = declaration_of(app.view_functions[rule.endpoint])
        assert decl is not None and decl.summary, rule.endpoint
    mine = [op for item in _openapi(client)["paths"].values() for op in item.values()
            if op["operationId"] == "static" or op["operationId"].split(".")[0] in MINE]
    assert len(mine) == len(rules)
    for op in mine:
        assert "x-undeclared" not in op and op["summary"], op["operationId"]
        assert any(s.startswith(("2", "3")) for s in op["responses"]), op["operationId"]


BODIES = [
    ("/api/documents", "post", "CreateDocumentIn", True, "201", "DocumentOut"),
    ("/api/documents/{doc_id}", "patch", "UpdateDocumentIn", False, "200", "DocumentOut"),
    ("/api/documents/{doc_id}/sections", "post", "CreateSectionIn", True, "201", "SectionOut"),
    ("/api/documents/{doc_id}/sections/{section_id}", "patch", "UpdateSectionIn", True, "200", "SectionOut"),
    ("/api/documents/{doc_id}/sections/{section_id}/move", "post", "MoveSectionIn", False, "200", "DocumentOut"),
    ("/api/documents/{doc_id}/shares/{username}", "put", "ShareIn", True, "200", "SharesOut"),
    # Optional: nothing reverts at once, `{content, version}` saves a reviewed revert.
    ("/api/documents/{doc_id}/sections/{section_id}/versions/{version}/revert", "post", "RevertIn", False, "200",
     "SectionRevertedOut"),
]


@pytest.mark.parametrize(("path", "method", "model", "required", "status", "answer"), BODIES)
def test_operations_declare_their_request_bodies(client, path, method, model, required, status, answer):
    op = _op(_openapi(client), path, method)
    assert op["requestBody"]["required"] is required
    assert _ref(op["requestBody"]["content"]["application/json"]["schema"]) == model
    assert _ref(op["responses"][status]["content"]["application/json"]["schema"]) == answer


NO_BODY = [
    ("/api/health", "get", "HealthOut"),
    ("/api/models", "get", "ModelsOut"),
    ("/api/documents", "get", "DocumentListOut"),
    ("/api/documents/{doc_id}", "get", "DocumentOut"),
    ("/api/documents/{doc_id}", "delete", "DocumentDeletedOut"),
    ("/api/documents/{doc_id}/sections/{section_id}", "delete", "SectionDeletedOut"),
    ("/api/documents/{doc_id}/sections/{section_id}/versions", "get", "SectionVersionsOut"),
    ("/api/documents/{doc_id}/shares", "get", "SharesOut"),
    ("/api/documents/{doc_id}/shares/{username}", "delete", "SharesOut"),
]


@pytest.mark.parametrize(("path", "method", "answer"), NO_BODY)
def test_operations_without_a_body_declare_their_answer(client, path, method, answer):
    op = _op(_openapi(client), path, method)
    assert "requestBody" not in op
    assert _ref(op["responses"]["200"]["content"]["application/json"]["schema"]) == answer
    queries = ["query", "query"] if (path, method) == ("/api/documents", "get") else []  # limit, cursor
    assert [p["in"] for p in op.get("parameters", [])] == ["path"] * path.count("{") + queries


def test_request_schemas_carry_the_limits(client):
    schemas = _openapi(client)["components"]["schemas"]
    create = schemas["CreateDocumentIn"]
    assert create["additionalProperties"] is False and create["required"] == ["title"]
    title = create["properties"]["title"]
    assert (title["maxLength"], title["x-config"], title["minLength"]) == (300, "MAX_TITLE_CHARS", 1)
    sections = next(s for s in create["properties"]["sections"]["anyOf"] if s.get("type") == "array")
    assert sections["maxItems"] == 1000 and _ref(sections["items"]) == "NewSectionIn"
    section = schemas["NewSectionIn"]
    assert section["additionalProperties"] is False and section["required"] == ["title"]
    level = next(s for s in section["properties"]["level"]["anyOf"] if s.get("type") == "integer")
    assert (level["minimum"], level["maximum"]) == (1, 6)
    content = next(s for s in section["properties"]["content"]["anyOf"] if s.get("type") == "string")
    assert content["x-config"] == "MAX_SECTION_CHARS"
    update = schemas["UpdateSectionIn"]
    assert update["required"] == ["version"] and update["properties"]["version"]["minimum"] == 1
    assert update["properties"]["version"]["type"] == "integer"
    move = schemas["MoveSectionIn"]["properties"]
    assert next(s for s in move["direction"]["anyOf"] if "enum" in s)["enum"] == ["up", "down"]
    assert next(s for s in move["position"]["anyOf"] if s.get("type") == "integer")["minimum"] == 0
    assert schemas["ShareIn"]["properties"]["access"]["enum"] == ["read", "edit"]
    assert schemas["CreateSectionIn"]["additionalProperties"] is False


def test_query_parameters_and_non_json_answers(client):
    doc = _openapi(client)
    export = _op(doc, "/api/documents/{doc_id}/export", "get")
    params = {p["name"]: p for p in export["parameters"]}
    assert params["format"]["in"] == "query" and params["format"]["required"] is False
    assert params["format"]["schema"]["enum"] == ["markdown", "json", "docx", "bundle"]
    assert params["format"]["schema"]["default"] == "markdown"
    assert params["chats"]["schema"] == {"default": False, "type": "boolean"}
    assert "text/markdown" in export["responses"]["200"]["content"] and "format=json" in export["responses"]["200"][
        "description"]
    signin = _op(doc, "/signin", "get")
    assert [(p["name"], p["in"], p["required"]) for p in signin["parameters"]] == [("next", "query", False)]
    assert signin["responses"]["200"]["content"] == {"text/html": {}} and "302" in signin["responses"]
    assert "302" in _op(doc, "/signup", "get")["responses"]
    for path in ("/", "/documents/{doc_id}"):
        page = _op(doc, path, "get")
        assert page["responses"]["200"]["content"] == {"text/html": {}} and "302" in page["responses"]
    assert _op(doc, "/documents/{doc_id}", "get")["responses"]["404"]["content"] == {"text/html": {}}
    assert _ref(_op(doc, "/api/documents/{doc_id}/sections/{section_id}", "patch")["responses"]["409"]["content"][
        "application/json"]["schema"]) == "SectionConflictOut"
    static = _op(doc, "/static/{filename}", "get")
    assert "x-undeclared" not in static and "application/octet-stream" in static["responses"]["200"]["content"]
