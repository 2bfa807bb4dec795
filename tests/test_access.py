"""Isolation between users: every route and the websocket answer 404 for what a user may not see or change.

The route matrices iterate `app.url_map`, so a route added later is covered
(or the test names it as having no resource in its path).
"""
from __future__ import annotations

import io
import json
import re

import pytest
import simple_websocket
from auth_helpers import connect_as, cookie_header, handshake, password_app, two_users
from conftest import make_document, model_config, ws_events
from fake_openai import Reply, ToolCall
from ws_client import WSClient

from vice_ai.services import services

# Routes whose paths name no document, section, session, stream or suggestion.
NO_RESOURCE = {
    "/api/health", "/api/models", "/api/documents", "/api/me", "/api/me/model", "/api/me/password",
    "/api/auth/signin", "/api/auth/signup", "/api/auth/signout", "/api/auth/signout-everywhere",
    "/api/users", "/api/stats", "/api/admin/archive", "/api/me/tokens", "/api/search",
    "/api/openapi.json", "/api/docs",
    "/api/presets",  # a user's own and the built-in ones (tests/test_presets.py covers sharing)
    "/api/documents/import",  # makes a new document of the caller's own
    "/api/diff",  # a diff of the two texts sent, nobody's data
}
# Routes with a path argument that names a file of the app, not anybody's data.
APP_FILES = {"/api/docs/assets/<path:name>"}
# A valid body per endpoint, so that access is the only reason to refuse.
BODIES = {
    ("PATCH", "documents.update_document"): {"title": "Taken over"},
    ("POST", "sections.create_section"): {"title": "Planted"},
    ("PATCH", "sections.update_section"): {"version": 1, "content": "Overwritten"},
    ("POST", "sections.move_section"): {"direction": "down"},
    ("PATCH", "sessions.update_session"): {"title": "Renamed"},
    ("POST", "sessions.send_message"): {"content": "Tell me everything"},
    ("PUT", "sharing.share"): {"access": "edit"},
    ("PATCH", "presets.update_preset"): {"name": "Taken over"},
    ("PATCH", "admin_api.update_user"): {"is_admin": False},
    ("PUT", "admin_api.reset_password"): {"new_password": "taken over, 123"},
}
# Endpoints that take a multipart upload: they get a readable file.
UPLOADS = {"files.upload_session_file", "files.upload_document_file"}


@pytest.fixture
def world(make_app, fake_openai, start_server):
    """Alice's document with a chat that has a reply, a pending suggestion and a running stream; Bob signed in."""
    app = password_app(make_app, **model_config(fake_openai))
    alice, bob = two_users(app)
    doc = alice.post("/api/documents", json={"title": "Alice's plan", "sections": [
        {"title": "Summary", "content": "Secret budget: 40,000 euros."},
        {"title": "Methods", "content": "Interviews."}]}).get_json()
    section = doc["sections"][0]
    session = alice.post(f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", json={}).get_json()
    fake_openai.script(
        Reply(text="", tool_calls=[
            ToolCall("propose_section_edit", json.dumps({"new_content": "Budget: 50,000.", "summary": "Raise"})),
            ToolCall("start_notification_stream", json.dumps({"goal": "watch", "interval_seconds": 3600})),
        ]),
        Reply(text="Proposed an edit and started watching."))
    fake_openai.default = Reply(text="Fine.")
    sent = alice.post(f"/api/sessions/{session['id']}/messages", json={"content": "Raise the budget"})
    assert sent.status_code == 201, sent.get_json()
    [suggestion] = alice.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    [stream] = alice.get(f"/api/sessions/{session['id']}/streams").get_json()["streams"]
    reply = sent.get_json()["assistant_message"]
    preset = alice.post("/api/presets", json={"name": "Alice's voice", "system_prompt": "Be Alice."}).get_json()
    attached = alice.post(f"/api/documents/{doc['id']}/files", data={"file": (io.BytesIO(b"Sources"), "s.txt")},
                          content_type="multipart/form-data").get_json()
    token = alice.post("/api/me/tokens", json={"name": "alice's script"}).get_json()["info"]
    ids = {"doc_id": doc["id"], "section_id": section["id"], "session_id": session["id"],
           "stream_id": stream["id"], "suggestion_id": suggestion["id"], "version": 1, "username": "bob",
           "file_id": attached["id"], "preset_id": preset["id"],
           "user_id": alice.get("/api/me").get_json()["user"]["id"], "token_id": token["id"],
           "message_id": sent.get_json()["user_message"]["id"]}
    return {"app": app, "alice": alice, "bob": bob, "ids": ids, "reply": reply, "server": start_server(app)}


def resource_routes(app) -> list[tuple[str, str, str]]:
    """(method, endpoint, url) for every /api route with a resource in its path, filled with Alice's ids."""
    routes = []
    unclassified = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in APP_FILES:
            continue
        if not rule.arguments:
            if rule.rule not in NO_RESOURCE:
                unclassified.append(rule.rule)
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.endpoint, rule.rule))
    assert unclassified == [], f"new routes without a resource id: say in NO_RESOURCE how they are covered: {unclassified}"
    return routes


def fill(rule: str, ids: dict) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        assert name in ids, f"the access matrix does not know the route parameter <{name}> of {rule}"
        return str(ids[name])

    return re.sub(r"<([^<>]+)>", value, rule)


def call(client, method: str, endpoint: str, url: str, world: dict):
    body = BODIES.get((method, endpoint), {} if method in ("POST", "PUT", "PATCH") else None)
    if endpoint == "sessions.apply_reply":
        body = {"message_id": world["reply"]["id"], "mode": "replace"}
    if endpoint in UPLOADS:
        return client.open(url, method=method, data={"file": (io.BytesIO(b"Planted"), "p.txt")},
                           content_type="multipart/form-data")
    return client.open(url, method=method, json=body)


def alice_sees_everything_unchanged(world: dict) -> None:
    alice, ids = world["alice"], world["ids"]
    doc = alice.get(f"/api/documents/{ids['doc_id']}").get_json()
    assert doc["title"] == "Alice's plan" and len(doc["sections"]) == 2
    assert doc["sections"][0]["version"] == 1 and doc["sections"][0]["content"] == "Secret budget: 40,000 euros."
    session = alice.get(f"/api/sessions/{ids['session_id']}").get_json()
    assert session["title"] == "Raise the budget" and len(session["messages"]) == 5
    [suggestion] = alice.get(f"/api/sessions/{ids['session_id']}/suggestions").get_json()["suggestions"]
    assert suggestion["status"] == "pending"
    [stream] = alice.get(f"/api/sessions/{ids['session_id']}/streams").get_json()["streams"]
    assert stream["running"] is True
    for url in (f"/api/documents/{ids['doc_id']}/files", f"/api/sessions/{ids['session_id']}/files"):
        assert [f["id"] for f in alice.get(url).get_json()["files"]] == [ids["file_id"]]
    assert [t["id"] for t in alice.get("/api/me/tokens").get_json()["tokens"]] == [ids["token_id"]]
    assert alice.get("/api/me").get_json()["user"]["is_admin"] is True
    assert alice.get(f"/api/documents/{ids['doc_id']}/shares").get_json()["shares"] in ([], [
        {"username": "bob", "access": "read"}])


def test_a_stranger_gets_404_on_every_route(world):
    bob, app = world["bob"], world["app"]
    routes = resource_routes(app)
    assert len(routes) >= 25
    answers = {}
    for method, endpoint, rule in routes:
        resp = call(bob, method, endpoint, fill(rule, world["ids"]), world)
        answers[f"{method} {rule}"] = (resp.status_code, resp.get_json()["error"]["code"])
    assert answers == dict.fromkeys(answers, (404, "not_found"))
    assert bob.get("/api/documents").get_json()["documents"] == []
    alice_sees_everything_unchanged(world)


def test_an_unknown_id_and_a_hidden_one_answer_the_same(world):
    bob, ids = world["bob"], world["ids"]
    hidden = bob.get(f"/api/sessions/{ids['session_id']}")
    unknown = bob.get("/api/sessions/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11")
    assert (hidden.status_code, hidden.get_json()) == (unknown.status_code, unknown.get_json())


def test_the_document_page_says_not_found(world):
    page = world["bob"].get(f"/documents/{world['ids']['doc_id']}")
    assert page.status_code == 404 and "Not found" in page.get_data(as_text=True)
    assert "Alice's plan" not in page.get_data(as_text=True)


def test_read_only_sharing_reads_everything_and_writes_nothing(world):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    shared = alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "read"})
    assert shared.status_code == 200
    assert shared.get_json()["shares"] == [{"username": "bob", "access": "read"}]
    [listed] = bob.get("/api/documents").get_json()["documents"]
    assert listed["id"] == ids["doc_id"] and listed["access"] == "read"
    answers = {}
    for method, endpoint, rule in resource_routes(world["app"]):
        resp = call(bob, method, endpoint, fill(rule, ids), world)
        answers[f"{method} {rule}"] = resp.status_code
    expected = {key: 200 if key.startswith("GET ") else 404 for key in answers}
    assert answers == expected
    assert bob.get(f"/documents/{ids['doc_id']}").status_code == 200
    alice_sees_everything_unchanged(world)


def test_edit_sharing_edits_the_document_but_not_alices_chats(world):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "edit"})
    section_url = f"/api/documents/{ids['doc_id']}/sections/{ids['section_id']}"
    assert bob.patch(section_url, json={"version": 1, "content": "Bob's words."}).status_code == 200
    assert bob.post(f"/api/documents/{ids['doc_id']}/sections", json={"title": "Bob's part"}).status_code == 201
    # Alice's chat: readable, not writable.
    session_url = f"/api/sessions/{ids['session_id']}"
    assert bob.get(session_url).status_code == 200
    assert bob.post(f"{session_url}/messages", json={"content": "Hi"}).status_code == 404
    assert bob.patch(session_url, json={"title": "Mine"}).status_code == 404
    assert bob.delete(session_url).status_code == 404
    # Bob's own chat on Alice's document: his, and Alice (the owner) may write it too.
    own = bob.post(f"{section_url}/sessions", json={}).get_json()
    assert own["owner"] != alice.get("/api/me").get_json()["user"]["id"]
    assert bob.post(f"/api/sessions/{own['id']}/messages", json={"content": "Summarise"}).status_code == 201
    assert alice.patch(f"/api/sessions/{own['id']}", json={"title": "Seen by the owner"}).status_code == 200
    # Only the owner shares or deletes.
    assert bob.put(f"/api/documents/{ids['doc_id']}/shares/alice", json={"access": "edit"}).status_code == 404
    assert bob.delete(f"/api/documents/{ids['doc_id']}").status_code == 404
    assert alice.get(f"/api/documents/{ids['doc_id']}").status_code == 200


def test_an_editor_cannot_delete_a_section_holding_other_peoples_chats(world):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "edit"})
    doc_url = f"/api/documents/{ids['doc_id']}"
    summary_url = f"{doc_url}/sections/{ids['section_id']}"
    refused = bob.delete(summary_url)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "conflict" and error["owners"] == ["alice"] and "alice" in error["message"]
    # Nothing of Alice's went: the section, her chat and its running stream.
    assert [s["id"] for s in alice.get(doc_url).get_json()["sections"]][0] == ids["section_id"]
    assert alice.get(f"/api/sessions/{ids['session_id']}").status_code == 200
    assert [s["running"] for s in alice.get(f"/api/sessions/{ids['session_id']}/streams").get_json()["streams"]] == [True]
    # Bob's own chat next to hers does not change that.
    bob.post(f"{summary_url}/sessions", json={})
    assert bob.delete(summary_url).get_json()["error"]["owners"] == ["alice"]
    # A section with only his chats, or none, is his to delete.
    mine = bob.post(f"{doc_url}/sections", json={"title": "Bob's part"}).get_json()
    own_chat = bob.post(f"{doc_url}/sections/{mine['id']}/sessions", json={}).get_json()
    assert bob.delete(f"{doc_url}/sections/{mine['id']}").status_code == 200
    assert bob.get(f"/api/sessions/{own_chat['id']}").status_code == 404
    methods = alice.get(doc_url).get_json()["sections"][1]
    assert methods["title"] == "Methods" and bob.delete(f"{doc_url}/sections/{methods['id']}").status_code == 200
    # The owner deletes anything, other people's chats and all.
    assert alice.delete(summary_url).status_code == 200
    assert alice.get(f"/api/sessions/{ids['session_id']}").status_code == 404


def test_revoking_works_at_once(world):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "edit"})
    assert bob.get(f"/api/documents/{ids['doc_id']}").status_code == 200
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "read"})
    assert bob.patch(f"/api/documents/{ids['doc_id']}", json={"title": "x"}).status_code == 404
    gone = alice.delete(f"/api/documents/{ids['doc_id']}/shares/bob")
    assert gone.status_code == 200 and gone.get_json()["shares"] == []
    assert bob.get(f"/api/documents/{ids['doc_id']}").status_code == 404
    assert bob.get(f"/api/sessions/{ids['session_id']}").status_code == 404
    assert bob.get("/api/documents").get_json()["documents"] == []
    assert alice.delete(f"/api/documents/{ids['doc_id']}/shares/bob").status_code == 404


def test_sharing_validates(world):
    alice, ids = world["alice"], world["ids"]
    url = f"/api/documents/{ids['doc_id']}/shares"
    assert alice.put(f"{url}/nobody", json={"access": "read"}).status_code == 404
    assert alice.put(f"{url}/alice", json={"access": "read"}).status_code == 400
    assert alice.put(f"{url}/bob", json={"access": "admin"}).get_json()["error"]["field"] == "access"
    view = alice.get(url).get_json()
    assert view == {"owner": "alice", "shares": [], "access": "owner"}



def test_usernames_cannot_be_listed_through_sharing(make_app):
    app = password_app(make_app, RATE_SHARE_MISSES="3/minute")
    alice, bob = two_users(app)
    shares = f"/api/documents/{make_document(bob)['id']}/shares"
    # The owner learns that a share did not happen...
    missed = bob.put(f"{shares}/nobody", json={"access": "read"})
    assert missed.status_code == 404 and missed.get_json()["error"]["field"] == "username"
    assert "not shared" in missed.get_json()["error"]["message"]
    assert bob.get(shares).get_json()["shares"] == []
    # ...but trying names runs out: then every share request waits, for a real name as for an unknown one.
    assert [bob.put(f"{shares}/guess{i}", json={"access": "read"}).status_code for i in range(3)] == [404, 404, 429]
    for name in ("guess9", "alice", "ALICE"):
        refused = bob.put(f"{shares}/{name}", json={"access": "read"})
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert bob.get(shares).get_json()["shares"] == []
    # Taking a share away says the same for a user that exists and one that does not.
    gone = [bob.delete(f"{shares}/{name}") for name in ("alice", "nobody-at-all")]
    assert [r.status_code for r in gone] == [404, 404] and gone[0].get_json() == gone[1].get_json()
    # Another user's budget is their own.
    theirs = f"/api/documents/{make_document(alice)['id']}/shares"
    assert alice.put(f"{theirs}/bob", json={"access": "read"}).status_code == 200


def test_answers_tell_the_caller_what_they_may_do(world):
    """`access` on documents and chats follows the same rules the routes enforce."""
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    doc_url, session_url = f"/api/documents/{ids['doc_id']}", f"/api/sessions/{ids['session_id']}"
    assert alice.get(doc_url).get_json()["access"] == "owner"
    assert alice.get(session_url).get_json()["access"] == "edit"
    assert alice.patch(doc_url, json={"title": "Alice's plan"}).get_json()["access"] == "owner"
    moved = alice.post(f"{doc_url}/sections/{ids['section_id']}/move", json={"direction": "down"})
    assert moved.get_json()["access"] == "owner"
    assert alice.post("/api/documents", json={"title": "New"}).get_json()["access"] == "owner"

    alice.put(f"{doc_url}/shares/bob", json={"access": "read"})
    assert bob.get(doc_url).get_json()["access"] == "read"
    assert bob.get(session_url).get_json()["access"] == "read"

    alice.put(f"{doc_url}/shares/bob", json={"access": "edit"})
    assert bob.get(doc_url).get_json()["access"] == "edit"
    assert bob.get(session_url).get_json()["access"] == "read"  # still Alice's chat
    own = bob.post(f"{doc_url}/sections/{ids['section_id']}/sessions", json={})
    assert own.status_code == 201 and own.get_json()["access"] == "edit"
    # Downgraded to read: Bob still writes his own chat (the server lets him send), not the document.
    alice.put(f"{doc_url}/shares/bob", json={"access": "read"})
    assert bob.get(f"/api/sessions/{own.get_json()['id']}").get_json()["access"] == "edit"
    assert bob.get(doc_url).get_json()["access"] == "read"
    assert alice.get(f"/api/sessions/{own.get_json()['id']}").get_json()["access"] == "edit"


def test_local_mode_owns_everything(client):
    doc = make_document(client)
    assert client.get(f"/api/documents/{doc['id']}").get_json()["access"] == "owner"

# -- the websocket -------------------------------------------------------------------

def open_socket(world: dict, client, session_id: str | None = None):
    url = f"{world['server'].ws_url}/ws/sessions/{session_id or world['ids']['session_id']}"
    return WSClient.connect(url, headers={"Cookie": cookie_header(client)})


def test_a_strangers_socket_gets_not_found(world):
    ws = open_socket(world, world["bob"])
    event = json.loads(ws.receive(5))
    assert event["type"] == "error" and event["error"]["code"] == "not_found"


def test_a_socket_without_a_user_is_refused(world):
    path = f"/ws/sessions/{world['ids']['session_id']}"
    status, body = handshake(world["server"].port, path, origin=world["server"].url)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    assert handshake(world["server"].port, path, world["server"].url, cookie_header(world["alice"]))[0] == 101


def test_revoking_closes_an_open_socket_at_once(world, fake_openai):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "read"})
    ws = connect_as(world["server"], ids["session_id"], bob)
    # A reader watches the stream but cannot send.
    ws.send(json.dumps({"type": "send", "content": "Let me in"}))
    refused = ws_events(ws, lambda e: e["type"] == "error")[-1]
    assert refused["error"]["code"] == "not_found"
    assert alice.post(f"/api/sessions/{ids['session_id']}/messages", json={"content": "Again"}).status_code == 201
    seen = ws_events(ws, lambda e: e["type"] == "done")
    assert seen[-1]["message"]["content"] == "Fine."

    alice.delete(f"/api/documents/{ids['doc_id']}/shares/bob")
    closing = ws_events(ws, lambda e: e["type"] == "error")[-1]
    assert closing["seq"] == 0 and closing["error"]["code"] == "not_found"
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            ws.receive(5)
    alice.post(f"/api/sessions/{ids['session_id']}/messages", json={"content": "After"})
    assert len(services(world["app"]).hub.subscribers(ids["session_id"])) == 0


def test_document_notifications_reach_only_users_who_may_see_them(world):
    alice, bob, ids = world["alice"], world["bob"], world["ids"]
    hub = services(world["app"]).hub
    alice.put(f"/api/documents/{ids['doc_id']}/shares/bob", json={"access": "read"})
    watcher = connect_as(world["server"], ids["session_id"], bob)
    owner = connect_as(world["server"], ids["session_id"], alice)
    # Take Bob's access away behind the hub's back (as another process would): no revalidation ran.
    state = services(world["app"]).state
    with state.edit_document(ids["doc_id"]) as doc:
        doc.shared_with = []
    other = "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"
    assert hub.notify_document(ids["doc_id"], {"kind": "test", "text": "Only for Alice"}, exclude_session=other) == 1
    assert ws_events(owner, lambda e: e["type"] == "notification")[-1]["text"] == "Only for Alice"
    assert watcher.receive(0.5) is None
    watcher.close(), owner.close()


def test_files_from_before_accounts_belong_to_the_first_admin(make_app, data_dir):
    local = make_app(AUTH="local").test_client()
    doc = local.post("/api/documents", json={"title": "Written alone"}).get_json()
    assert doc["owner"] == "local"
    app = password_app(make_app)
    alice, bob = two_users(app)
    assert alice.get(f"/api/documents/{doc['id']}").get_json()["title"] == "Written alone"
    assert [d["access"] for d in alice.get("/api/documents").get_json()["documents"]] == ["owner"]
    assert bob.get(f"/api/documents/{doc['id']}").status_code == 404
