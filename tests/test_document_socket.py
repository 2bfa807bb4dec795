"""The document socket (`/ws/documents/<id>`) over a real server thread with a real client.

Every saved change of a section, a chat or a share reaches every socket open on
the document as a numbered event that matches its declared model; it resumes like
the chat socket; it keeps the same rules of access as the chat socket.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import simple_websocket
from auth_helpers import cookie_header, handshake, password_app, two_users
from conftest import make_document, make_session, ws_events
from pydantic import ValidationError
from ws_client import WSClient

from vice_ai.api.schemas.document_socket import DOCUMENT_EVENTS, DocumentNotificationEvent
from vice_ai.services import services


def connect_doc(server: Any, doc_id: str, client: Any = None, check_hello: bool = True) -> Any:
    """A websocket on a document (as the client's user, or with no cookie), past its hello."""
    headers = {"Cookie": cookie_header(client)} if client is not None else None
    ws = WSClient.connect(f"{server.ws_url}/ws/documents/{doc_id}", headers=headers)
    if check_hello:
        ws.send(json.dumps({"type": "ping"}))
        events = ws_events(ws, lambda e: e["type"] == "pong")
        assert events[0]["type"] == "hello" and events[0]["document_id"] == doc_id, events
        ws.hello = events[0]
    return ws


def checked(events: list[dict]) -> list[dict]:
    """Every event validated strictly against its declared model (only notifications carry extra fields)."""
    for event in events:
        model = DOCUMENT_EVENTS.get(event["type"])
        assert model is not None, f"undeclared document event {event['type']!r}"
        try:
            parsed = model.model_validate_json(json.dumps(event), strict=True)
        except ValidationError as exc:
            raise AssertionError(f"{event['type']} does not match {model.__name__}: {exc}") from None
        if model is not DocumentNotificationEvent:
            assert not parsed.model_extra, f"{event['type']} has undeclared fields {sorted(parsed.model_extra)}"
    return events


def next_event(ws: Any, kind: str) -> dict:
    """Read until an event of `kind`; every event read must be numbered and declared."""
    events = checked(ws_events(ws, lambda e: e["type"] == kind))
    return events[-1]


@pytest.fixture
def opened(client, live_server):
    doc = make_document(client)
    ws = connect_doc(live_server, doc["id"])
    yield live_server, client, doc, ws
    if ws.connected:
        ws.close()


def test_each_section_change_is_an_event(opened):
    _, client, doc, ws = opened
    summary, methods = doc["sections"]
    url = f"/api/documents/{doc['id']}/sections"

    assert client.patch(f"{url}/{summary['id']}", json={"version": 1, "content": "New text."}).status_code == 200
    event = next_event(ws, "section_updated")
    assert event["section"]["content"] == "New text." and event["section"]["version"] == 2
    assert event["changed"] == ["content"] and event["seq"] == ws.hello["seq"] + 1
    assert event["document_id"] == doc["id"] and event["epoch"] == ws.hello["epoch"]

    client.patch(f"{url}/{summary['id']}", json={"version": 2, "title": "Abstract", "status": "reviewed"})
    event = next_event(ws, "section_updated")
    assert event["changed"] == ["title", "status"] and event["section"]["title"] == "Abstract"

    created = client.post(url, json={"title": "Budget", "content": "40,000.", "position": 1}).get_json()
    event = next_event(ws, "section_created")
    assert event["section"]["id"] == created["id"] and event["position"] == 1
    assert event["order"] == [summary["id"], created["id"], methods["id"]]

    client.post(f"{url}/{methods['id']}/move", json={"position": 0})
    event = next_event(ws, "sections_reordered")
    assert event["order"] == [methods["id"], summary["id"], created["id"]]

    client.post(f"{url}/{summary['id']}/versions/1/revert")
    event = next_event(ws, "section_updated")
    assert event["section"]["content"] == summary["content"] and event["changed"] == ["content", "status"]
    assert event["section"]["status"] == summary["status"]  # a revert brings back the status version 1 had

    assert client.delete(f"{url}/{created['id']}").status_code == 200
    event = next_event(ws, "section_deleted")
    assert event["section_id"] == created["id"] and event["order"] == [methods["id"], summary["id"]]

    client.patch(f"/api/documents/{doc['id']}", json={"title": "Grant proposal, v2"})
    assert next_event(ws, "document_updated")["title"] == "Grant proposal, v2"


def test_chats_made_renamed_and_deleted_elsewhere_are_events(opened):
    _, client, doc, ws = opened
    section = doc["sections"][1]
    session = make_session(client, doc, index=1, title="Methods chat")
    event = next_event(ws, "chat_created")
    assert event["section_id"] == section["id"] and event["session"]["id"] == session["id"]
    assert event["session"]["title"] == "Methods chat"

    client.patch(f"/api/sessions/{session['id']}", json={"title": "Interviews"})
    event = next_event(ws, "chat_updated")
    assert event["session"]["title"] == "Interviews"

    client.delete(f"/api/sessions/{session['id']}")
    event = next_event(ws, "chat_deleted")
    assert (event["section_id"], event["session_id"]) == (section["id"], session["id"])


def test_a_reply_finishing_in_any_section_is_a_notification(opened):
    _, client, doc, ws = opened
    session = make_session(client, doc, index=1, title="Methods chat")
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Check this"}).status_code == 201
    event = next_event(ws, "notification")
    assert event["kind"] == "reply_finished" and event["section_id"] == doc["sections"][1]["id"]
    assert "Methods chat" in event["text"]


def test_resume_replays_and_a_seq_of_another_run_gets_the_saved_document(opened, live_server):
    _, client, doc, ws = opened
    section = doc["sections"][0]
    for version in (1, 2, 3):
        client.patch(f"/api/documents/{doc['id']}/sections/{section['id']}", json={"version": version,
                                                                                   "content": f"Text {version}"})
    events = [next_event(ws, "section_updated") for _ in range(3)]
    ws.close()  # the tab goes away; another comes back knowing the first event only
    later = connect_doc(live_server, doc["id"])
    assert later.hello["seq"] == events[-1]["seq"]
    later.send(json.dumps({"type": "resume", "after": events[0]["seq"], "epoch": events[0]["epoch"]}))
    replayed = checked(ws_events(later, lambda e: e["seq"] == events[-1]["seq"]))
    assert replayed == events[1:]
    for other_run in ({"epoch": "an-earlier-run"}, {}):
        later.send(json.dumps({"type": "resume", "after": 1, **other_run}))
        sync = next_event(later, "sync")
        assert sync["local"] is True and sync["seq"] == events[-1]["seq"]
        assert sync["document"]["sections"][0]["content"] == "Text 3" and sync["document"]["access"] == "owner"
    later.send(json.dumps({"type": "send", "content": "Not here"}))  # a chat's command: refused, socket open
    error = next_event(later, "error")
    assert error["local"] is True and "Unknown command type 'send'" in error["error"]["message"]
    later.close()


def test_a_deleted_document_closes_its_sockets(opened):
    _, client, doc, ws = opened
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200
    assert next_event(ws, "deleted")["document_id"] == doc["id"]
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            ws.receive(5)


def test_the_feed_survives_a_restart_of_the_app(make_app, start_server):
    first = make_app()
    doc = make_document(first.test_client())
    app = make_app()  # a new run over the same data folder: it has seen no save of this document yet
    server = start_server(app)
    ws = connect_doc(server, doc["id"])
    client = app.test_client()
    client.patch(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}", json={"version": 1,
                                                                                          "title": "Abstract"})
    assert next_event(ws, "section_updated")["changed"] == ["title"]
    ws.close()


# ---- the rules of access: the same as the chat socket's ----

@pytest.fixture
def shared(make_app, start_server):
    app = password_app(make_app)
    alice, bob = two_users(app)
    doc = make_document(alice)
    return {"app": app, "server": start_server(app), "alice": alice, "bob": bob, "doc": doc}


def test_a_stranger_gets_not_found_like_a_document_that_does_not_exist(shared):
    server, doc = shared["server"], shared["doc"]
    for doc_id in (doc["id"], "7b0c8f0e-4d43-4a55-9b8e-000000000000"):
        ws = connect_doc(server, doc_id, shared["bob"], check_hello=False)
        event = json.loads(ws.receive(5))
        assert event["type"] == "error" and event["error"]["code"] == "not_found" and event["seq"] == 0
        checked([event])
        with pytest.raises(simple_websocket.ConnectionClosed):
            while True:
                ws.receive(5)


def test_the_handshake_needs_this_site_and_a_user(shared):
    server, doc = shared["server"], shared["doc"]
    path = f"/ws/documents/{doc['id']}"
    cookie = cookie_header(shared["alice"])
    status, body = handshake(server.port, path, origin="http://evil.example", cookie=cookie)
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    status, body = handshake(server.port, path, origin=server.url)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    assert handshake(server.port, path, origin=server.url, cookie=cookie)[0] == 101


def test_a_share_change_is_an_event_and_revoking_it_closes_the_socket(shared):
    alice, bob, doc = shared["alice"], shared["bob"], shared["doc"]
    owner = connect_doc(shared["server"], doc["id"], alice)
    assert alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"}).status_code == 200
    next_event(owner, "share_changed")
    reader = connect_doc(shared["server"], doc["id"], bob)
    alice.patch(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}", json={"version": 1,
                                                                                         "content": "Shared."})
    assert next_event(reader, "section_updated")["section"]["content"] == "Shared."

    assert alice.delete(f"/api/documents/{doc['id']}/shares/bob").status_code == 200
    closing = checked(ws_events(reader, lambda e: e["type"] == "error"))[-1]
    assert closing["seq"] == 0 and closing["error"]["code"] == "not_found" and closing["document_id"] == doc["id"]
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            reader.receive(5)
    assert next_event(owner, "share_changed")  # the owner's socket stays
    hub = services(shared["app"]).hub
    assert len(hub.subscribers(f"document:{doc['id']}")) == 1
    owner.close()


def test_signing_out_closes_the_document_socket(shared):
    alice, doc = shared["alice"], shared["doc"]
    ws = connect_doc(shared["server"], doc["id"], alice)
    assert alice.post("/api/auth/signout").status_code in (200, 204)
    closing = checked(ws_events(ws, lambda e: e["type"] == "error"))[-1]
    assert closing["seq"] == 0 and closing["error"]["code"] == "unauthorized"


def test_a_stopping_server_tells_the_document_socket_and_closes_it(make_app, start_server):
    from vice_ai import shutdown

    app = make_app()
    server = start_server(app)
    doc = make_document(app.test_client())
    ws = connect_doc(server, doc["id"])
    shutdown(app)
    assert next_event(ws, "restarting")["local"] is True
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            ws.receive(5)
