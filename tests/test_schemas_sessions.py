"""The declared schemas of the chat, tool, account and admin routes: bounded shapes, fields named, documented."""
from __future__ import annotations

import json
from typing import Any

import pytest
from auth_helpers import PASSWORD, password_app, signup, two_users
from conftest import make_document, make_session
from openapi_spec_validator import validate as validate_spec

from vice_ai.api.schemas.sessions import MAX_VARIABLE_DEPTH, MAX_VARIABLES_BYTES

MY_BLUEPRINTS = ("sessions.", "tools.", "auth_api.", "admin_api.")


def _nested(depth: int, leaf: Any = "x") -> Any:
    """A value nested `depth` levels deep, alternating objects and lists (a scalar is depth 0)."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def _bad(resp, field: str) -> dict[str, Any]:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error.get("field") == field, error
    assert error["message"].strip()
    return error


# ---- PATCH /api/sessions/<id>: every bad shape is a 400 naming the field, and nothing changes ----

BAD_PATCHES = [
    ({"title": "  "}, "title"),
    ({"title": None, "archived": "yes"}, "archived"),
    ({"config": "gpt-4o"}, "config"),
    ({"config": {"api_key": "x"}}, "config.api_key"),
    ({"config": {"model": ""}}, "config.model"),
    ({"config": {"model": " \t"}}, "config.model"),
    ({"config": {"model": "m" * 201}}, "config.model"),
    ({"config": {"temperature": 2.01}}, "config.temperature"),
    ({"config": {"temperature": -1}}, "config.temperature"),
    ({"config": {"temperature": "1"}}, "config.temperature"),
    ({"config": {"temperature": True}}, "config.temperature"),
    ({"config": {"system_prompt": "s" * 20_001}}, "config.system_prompt"),
    ({"config": {"tools": "read_section"}}, "config.tools"),
    ({"config": {"tools": [1]}}, "config.tools[0]"),
    ({"config": {"tools": ["read_section"] * 51}}, "config.tools"),
    ({"config": {"tools": ["no_such_tool"]}}, "config.tools"),  # the registry, checked by the service
    ({"variables": []}, "variables"),
    ({"variables": "a=b"}, "variables"),
    ({"variables": {f"k{i}": i for i in range(101)}}, "variables"),
    ({"variables": {"a-b": 1}}, "variables"),
    ({"variables": {"1st": 1}}, "variables"),
    ({"variables": {"": 1}}, "variables"),
    ({"variables": {"x" * 65: 1}}, "variables"),
    ({"variables": {"deep": _nested(MAX_VARIABLE_DEPTH + 1)}}, "variables"),
    ({"variables": {"ok": 1, "deep": {"a": _nested(MAX_VARIABLE_DEPTH)}}}, "variables"),
    ({"variables": {"big": "x" * MAX_VARIABLES_BYTES}}, "variables"),
    ({"variables": {f"v{i}": "\u00e9" * 400 for i in range(90)}}, "variables"),  # 72 KB as UTF-8
    ({"context_documents": {"name": "n", "content": "c"}}, "context_documents"),
    ({"context_documents": ["notes"]}, "context_documents[0]"),
    ({"context_documents": [{"name": "n", "content": "c"}] * 21}, "context_documents"),
    ({"context_documents": [{"content": "c"}]}, "context_documents[0].name"),
    ({"context_documents": [{"name": "n", "content": "c"}, {"name": "", "content": "c"}]},
     "context_documents[1].name"),
    ({"context_documents": [{"name": "n" * 201, "content": "c"}]}, "context_documents[0].name"),
    ({"context_documents": [{"name": "n"}]}, "context_documents[0].content"),
    ({"context_documents": [{"name": "n", "content": 5}]}, "context_documents[0].content"),
    ({"context_documents": [{"name": "n", "content": "c" * 1001}]}, "context_documents[0].content"),
    ({"context_documents": [{"name": "n", "content": "c", "url": "u"}]}, "context_documents[0].url"),
    ({"messages": []}, "messages"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PATCHES)
def test_patch_refuses_every_bad_shape_by_name(make_app, body, field):
    client = make_app(MAX_SECTION_CHARS=1000).test_client()
    session = make_session(client, make_document(client, sections=[{"title": "S"}]), title="Original")
    _bad(client.patch(f"/api/sessions/{session['id']}", json=body), field)
    assert client.get(f"/api/sessions/{session['id']}").get_json() == session


def test_numbers_too_large_for_json_are_not_stored(client):
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}"
    error = _bad(client.patch(url, data=b'{"variables": {"huge": [1e400]}}', content_type="application/json"),
                 "variables")
    assert "huge" in error["message"]
    _bad(client.patch(url, data=b'{"config": {"temperature": 1e400}}', content_type="application/json"),
         "config.temperature")


def test_variables_at_the_limits_are_accepted(client):
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}"
    many = {f"_v{i}": i for i in range(100)}
    assert client.patch(url, json={"variables": many}).get_json()["variables"] == many
    deep = {"deep": _nested(MAX_VARIABLE_DEPTH), "name_" + "x" * 58: None}
    assert client.patch(url, json={"variables": deep}).get_json()["variables"] == deep
    overhead = len(json.dumps({"big": ""}, separators=(",", ":")))
    big = {"big": "x" * (MAX_VARIABLES_BYTES - overhead)}
    assert client.patch(url, json={"variables": big}).status_code == 200


def test_a_deep_value_round_trips_everywhere(make_app):
    """What PATCH accepts can be read back: the chat, both exports, and the admin's statistics."""
    app = password_app(make_app)
    alice, _ = two_users(app)
    doc = make_document(alice)
    session = make_session(alice, doc, title="Deep")
    url = f"/api/sessions/{session['id']}"
    variables = {
        "deep": _nested(MAX_VARIABLE_DEPTH - 1, leaf={"n": 1.5, "t": True, "z": None, "s": "caf\u00e9 \U0001F600"}),
        "mixed": {"n": 1.5, "t": True, "z": None, "s": "caf\u00e9 \U0001F600", "list": [1, [2, [3]]]},
    }
    context = [{"name": "Call", "content": "Budget rules."}]
    config = {"model": "offline-assistant", "temperature": 0.5, "system_prompt": "Be brief.", "tools": []}
    patched = alice.patch(url, json={"variables": variables, "context_documents": context, "config": config})
    assert patched.status_code == 200, patched.get_json()
    got = alice.get(url)
    assert got.status_code == 200
    assert got.get_json()["variables"] == variables
    assert got.get_json()["context_documents"] == context
    assert got.get_json()["config"] == config

    as_json = alice.get(f"/api/documents/{doc['id']}/export?format=json")
    assert as_json.status_code == 200
    [exported] = json.loads(as_json.get_data())["sessions"]
    assert exported["variables"] == variables
    as_markdown = alice.get(f"/api/documents/{doc['id']}/export?format=markdown&chats=1")
    assert as_markdown.status_code == 200 and "Deep" in as_markdown.get_data(as_text=True)

    stats = alice.get("/api/stats")
    assert stats.status_code == 200 and stats.get_json()["sessions"] == 1
    assert alice.get(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions").status_code == 200


def test_config_tools_are_checked_against_the_registry(client):
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}"
    error = _bad(client.patch(url, json={"config": {"tools": ["read_section", "nope"]}}), "config.tools")
    assert "nope" in error["message"]
    done = client.patch(url, json={"config": {"tools": ["read_section", "read_section"]}})
    assert done.get_json()["config"]["tools"] == ["read_section"]


# ---- JSON that no field could hold ----

def _routes(client) -> list[tuple[str, str]]:
    doc = make_document(client)
    session = make_session(client, doc)
    base = f"/api/sessions/{session['id']}"
    return [
        ("post", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions"),
        ("patch", base), ("post", f"{base}/messages"), ("post", f"{base}/regenerate"), ("post", f"{base}/stop"),
        ("post", f"{base}/apply"), ("post", f"{base}/suggestions/x/accept"), ("post", f"{base}/suggestions/x/reject"),
        ("put", "/api/me/model"), ("post", "/api/admin/archive"),
    ]


def test_deeply_nested_json_is_a_400_everywhere(client):
    for method, url in _routes(client):
        resp = client.open(url, method=method.upper(), data="[" * 990 + "]" * 990, content_type="application/json")
        assert resp.status_code == 400, (method, url)
        assert "nested" in resp.get_json()["error"]["message"]


SURROGATE_BODIES = [
    ("create", b'{"title": "a\\ud800"}', "title"),
    ("create", b'{"model": "\\udfff"}', "model"),
    ("create", b'{"system_prompt": "x\\ud800y"}', "system_prompt"),
    ("patch", b'{"title": "\\ud800"}', "title"),
    ("patch", b'{"config": {"model": "\\ud800"}}', "config.model"),
    ("patch", b'{"config": {"system_prompt": "\\ud800"}}', "config.system_prompt"),
    ("patch", b'{"config": {"tools": ["read_section", "\\ud800"]}}', "config.tools[1]"),
    ("patch", b'{"variables": {"a": {"b": ["\\ud800"]}}}', "variables.a.b[0]"),
    ("patch", b'{"context_documents": [{"name": "n", "content": "\\ud800"}]}', "context_documents[0].content"),
    ("patch", b'{"context_documents": [{"name": "\\ud800", "content": "c"}]}', "context_documents[0].name"),
    ("messages", b'{"content": "hi \\ud800"}', "content"),
    ("apply", b'{"message_id": "\\ud800", "mode": "replace"}', "message_id"),
    ("model", b'{"model": "\\ud800"}', "model"),
]


@pytest.mark.parametrize(("route", "raw", "field"), SURROGATE_BODIES)
def test_a_lone_surrogate_is_a_400_naming_the_field(client, route, raw, field):
    doc = make_document(client)
    session = make_session(client, doc)
    method, url = {
        "create": ("POST", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions"),
        "patch": ("PATCH", f"/api/sessions/{session['id']}"),
        "messages": ("POST", f"/api/sessions/{session['id']}/messages"),
        "apply": ("POST", f"/api/sessions/{session['id']}/apply"),
        "model": ("PUT", "/api/me/model"),
    }[route]
    error = _bad(client.open(url, method=method, data=raw, content_type="application/json"), field)
    assert "surrogate" in error["message"]
    assert client.get(f"/api/sessions/{session['id']}").get_json() == session


def test_a_lone_surrogate_in_a_variable_name_is_refused(client):
    session = make_session(client, make_document(client))
    resp = client.patch(f"/api/sessions/{session['id']}", data=b'{"variables": {"k\\udfff": 1}}',
                        content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"]["field"].startswith("variables.k")


@pytest.mark.parametrize(("url", "raw", "field"), [
    ("/api/auth/signin", b'{"username": "\\ud800", "password": "x"}', "username"),
    ("/api/auth/signup", b'{"username": "alice", "password": "long enough \\udfff"}', "password"),
    ("/api/users", b'{"username": "\\ud800", "password": "long enough"}', "username"),
])
def test_account_bodies_refuse_lone_surrogates(make_app, url, raw, field):
    app = password_app(make_app, SIGNUP="open")
    admin = app.test_client()
    assert signup(admin, "admin").status_code == 201
    error = _bad(admin.post(url, data=raw, content_type="application/json"), field)
    assert "surrogate" in error["message"]


# ---- other bodies and the query ----

@pytest.mark.parametrize(("body", "field"), [
    ({"content": "   "}, "content"),
    ({"content": "x" * 101}, "content"),
    ({}, "content"),
])
def test_message_bodies(make_app, body, field):
    client = make_app(MAX_MESSAGE_CHARS=100).test_client()
    session = make_session(client, make_document(client))
    client.patch(f"/api/sessions/{session['id']}", json={"archived": True})
    _bad(client.post(f"/api/sessions/{session['id']}/messages", json=body), field)
    # Refused before anything happened: the chat is still archived and has no messages.
    after = client.get(f"/api/sessions/{session['id']}").get_json()
    assert after["archived"] is True and after["messages"] == []


def test_bodies_of_bodiless_routes_and_accept(client):
    session = make_session(client, make_document(client))
    base = f"/api/sessions/{session['id']}"
    _bad(client.post(f"{base}/stop", json={"now": True}), "now")
    _bad(client.post(f"{base}/suggestions/x/reject", json={"why": "no"}), "why")
    _bad(client.post(f"{base}/suggestions/x/accept", json={"force": "yes"}), "force")
    assert client.post(f"{base}/stop").get_json() == {"stopped": False}
    assert client.post(f"{base}/suggestions/x/accept", json={"force": True}).status_code == 404


def test_archived_query(client):
    doc = make_document(client)
    session = make_session(client, doc)
    client.patch(f"/api/sessions/{session['id']}", json={"archived": True})
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions"
    assert client.get(url).get_json()["sessions"] == []
    for word in ("1", "true", "yes"):
        assert [s["id"] for s in client.get(f"{url}?archived={word}").get_json()["sessions"]] == [session["id"]]
    assert client.get(f"{url}?archived=0").get_json()["sessions"] == []
    _bad(client.get(f"{url}?archived=perhaps"), "archived")
    _bad(client.get(f"{url}?colour=red"), "colour")


# ---- accounts and admins ----

def test_routes_that_are_not_there_answer_404_whatever_the_body(make_app):
    local = make_app().test_client()
    for url in ("/api/auth/signin", "/api/auth/signup", "/api/auth/signout"):
        assert local.post(url, json={"bogus": 1}).status_code == 404
    assert local.put("/api/me/password", json=[1]).status_code == 404
    app = password_app(make_app)
    alice, bob = two_users(app)
    for resp in (bob.post("/api/users", json={"nonsense": True}), bob.post("/api/admin/archive", json={"x": 1}),
                 bob.get("/api/stats"), bob.get("/api/users")):
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    _bad(alice.post("/api/users", json={"nonsense": True}), "nonsense")
    _bad(alice.post("/api/users", json={"username": "carol", "password": PASSWORD, "is_admin": "yes"}), "is_admin")


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "   ", "password": PASSWORD}, "username"),
    ({"username": "alice", "password": ""}, "password"),
    ({"username": "alice", "password": 5}, "password"),
    ({"username": "alice", "password": PASSWORD, "remember": True}, "remember"),
])
def test_credentials_shape(make_app, body, field):
    _bad(password_app(make_app).test_client().post("/api/auth/signin", json=body), field)


def test_sign_in_trims_the_username(make_app):
    app = password_app(make_app)
    signup(app.test_client(), "alice")
    resp = app.test_client().post("/api/auth/signin", json={"username": "  alice ", "password": PASSWORD})
    assert resp.status_code == 200 and resp.get_json()["user"]["username"] == "alice"


def test_me_and_model_answers(client):
    me = client.get("/api/me").get_json()
    assert me["auth"] == "local" and set(me["model"]) == {"preferred", "effective", "default"}
    _bad(client.put("/api/me/model", json={"model": 5}), "model")
    _bad(client.put("/api/me/model", json={"model": "m" * 201}), "model")
    assert client.put("/api/me/model", json={"model": ""}).get_json()["model"]["preferred"] is None
    assert client.put("/api/me/model", json={}).get_json()["model"]["preferred"] is None


# ---- the OpenAPI document ----

def test_every_route_here_is_declared_and_documented(app, client):
    doc = client.get("/api/openapi.json").get_json()
    validate_spec(doc)
    ops = {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}
    mine = {k: op for k, op in ops.items() if op["operationId"].startswith(MY_BLUEPRINTS)}
    assert len(mine) == 28  # admin_api: + PATCH /api/users/<id>, PUT /api/users/<id>/password
    assert [k for k, op in mine.items() if op.get("x-undeclared")] == []

    schemas = doc["components"]["schemas"]
    variables = next(s for s in schemas["UpdateSessionIn"]["properties"]["variables"]["anyOf"] if s.get("type"))
    assert variables["maxProperties"] == 100 and variables["x-max-depth"] == MAX_VARIABLE_DEPTH
    assert variables["propertyNames"]["pattern"] == "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
    assert schemas["SessionConfigIn"]["additionalProperties"] is False
    assert schemas["ContextDocumentIn"]["properties"]["content"]["x-config"] == "MAX_SECTION_CHARS"

    send = ops[("/api/sessions/{session_id}/messages", "post")]
    assert send["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/RoundOut")
    for op in (send, ops[("/api/sessions/{session_id}/continue", "post")]):
        assert op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/RoundOut")
        for status in ("502", "504"):
            assert op["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith("/RoundErrorOut")
    listing = ops[("/api/documents/{doc_id}/sections/{section_id}/sessions", "get")]
    archived = next(p for p in listing["parameters"] if p["name"] == "archived")
    assert archived["in"] == "query" and archived["schema"]["type"] == "boolean"
    me = ops[("/api/me", "get")]["responses"]["200"]["content"]["application/json"]["schema"]
    assert me["$ref"].endswith("/MeOut")
    assert set(schemas["StatsOut"]["required"]) == {"documents", "sessions", "archived_sessions", "messages",
                                                    "users", "active_users", "models"}
