"""The document list's socket (`/ws/documents`) and a chat's `branch_changed`, over a real server and client.

A document shared with a user appears in their open list, a rename shows, a share taken away or a deletion
removes it, the owner's own list follows too, and nobody else hears of it; with Redis the same across two apps.
A writer's switch of a chat's active branch reaches the chat's other sockets.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from auth_helpers import cookie_header, create_user, password_app, signin, two_users
from conftest import connect_ws, make_document, make_session, ws_events
from pydantic import ValidationError
from ws_client import WSClient

from vice_ai.api.schemas.list_socket import LIST_EVENTS
from vice_ai.api.schemas.websocket import BranchChangedEvent


def connect_list(server: Any, client: Any = None) -> Any:
    """A websocket on the caller's document list (as the client's user, or the local one), past its hello."""
    headers = {"Cookie": cookie_header(client)} if client is not None else None
    ws = WSClient.connect(f"{server.ws_url}/ws/documents", headers=headers)
    ws.send(json.dumps({"type": "ping"}))
    events = ws_events(ws, lambda e: e["type"] == "pong")
    assert events[0]["type"] == "hello" and events[0]["local"] is True, events
    ws.hello = events[0]
    return ws


def checked(events: list[dict]) -> list[dict]:
    """Every event validated strictly against its declared model, with no undeclared field."""
    for event in events:
        model = LIST_EVENTS.get(event["type"])
        assert model is not None, f"undeclared list event {event['type']!r}"
        try:
            parsed = model.model_validate_json(json.dumps(event), strict=True)
        except ValidationError as exc:
            raise AssertionError(f"{event['type']} does not match {model.__name__}: {exc}") from None
        assert not parsed.model_extra, f"{event['type']} has undeclared fields {sorted(parsed.model_extra)}"
    return events


def next_event(ws: Any, kind: str) -> dict:
    return checked(ws_events(ws, lambda e: e["type"] == kind))[-1]


def quiet(ws: Any) -> list[dict]:
    """What the socket got before a pong: nothing, for a list no change concerns."""
    ws.send(json.dumps({"type": "ping"}))
    return [e for e in ws_events(ws, lambda e: e["type"] == "pong", timeout=5) if e["type"] != "pong"]


@pytest.fixture
def people(make_app, start_server):
    app = password_app(make_app)
    alice, bob = two_users(app)
    carol = app.test_client()
    create_user(alice, "carol")
    assert signin(carol, "carol").status_code == 200
    return {"app": app, "server": start_server(app), "alice": alice, "bob": bob, "carol": carol}


def test_a_shared_users_list_follows_shares_renames_revocations_and_deletion(people):
    server, alice, bob = people["server"], people["alice"], people["bob"]
    doc = make_document(alice, title="Grant proposal")
    lists = {name: connect_list(server, people[name]) for name in ("alice", "bob", "carol")}
    url = f"/api/documents/{doc['id']}"

    assert alice.put(f"{url}/shares/bob", json={"access": "read"}).status_code == 200
    listed = next_event(lists["bob"], "document_listed")
    assert listed["document"]["id"] == doc["id"] and listed["document"]["access"] == "read"
    assert listed["document"]["title"] == "Grant proposal" and listed["seq"] == lists["bob"].hello["seq"] + 1
    assert listed["epoch"] == lists["bob"].hello["epoch"]
    assert next_event(lists["alice"], "document_listed")["document"]["access"] == "owner"  # its shares moved

    assert alice.patch(url, json={"title": "Grant proposal, v2"}).status_code == 200
    renamed = next_event(lists["bob"], "document_listed")
    assert renamed["document"]["title"] == "Grant proposal, v2" and renamed["seq"] == listed["seq"] + 1
    assert alice.put(f"{url}/shares/bob", json={"access": "edit"}).status_code == 200
    assert next_event(lists["bob"], "document_listed")["document"]["access"] == "edit"

    # Bob has the document open: the share taken away closes it there (not_found) and takes it off his list.
    page = WSClient.connect(f"{server.ws_url}/ws/documents/{doc['id']}",
                                           headers={"Cookie": cookie_header(bob)})
    assert json.loads(page.receive(5))["type"] == "hello"
    assert alice.delete(f"{url}/shares/bob").status_code == 200
    assert next_event(lists["bob"], "document_unlisted")["document_id"] == doc["id"]
    closing = ws_events(page, lambda e: e["type"] == "error")[-1]
    assert closing["seq"] == 0 and closing["error"]["code"] == "not_found"
    assert bob.get("/api/documents").get_json()["documents"] == []

    alice.put(f"{url}/shares/bob", json={"access": "read"})
    next_event(lists["bob"], "document_listed")
    assert alice.delete(url).status_code == 200
    assert next_event(lists["bob"], "document_unlisted")["document_id"] == doc["id"]
    assert next_event(lists["alice"], "document_unlisted")["document_id"] == doc["id"]
    assert quiet(lists["carol"]) == []  # someone else's documents: not a word
    for ws in lists.values():
        ws.close()


def test_the_owners_list_sees_a_document_made_and_renamed_in_another_tab(people):
    alice, bob = people["alice"], people["bob"]
    mine = connect_list(people["server"], alice)
    theirs = connect_list(people["server"], bob)
    doc = make_document(alice, title="Budget")
    made = next_event(mine, "document_listed")["document"]
    assert made["id"] == doc["id"] and made["access"] == "owner" and made["section_count"] == 2
    alice.post(f"/api/documents/{doc['id']}/sections", json={"title": "Risks", "content": "Few."})
    assert next_event(mine, "document_listed")["document"]["section_count"] == 3
    assert quiet(theirs) == []
    mine.close()
    theirs.close()


def test_resume_replays_and_a_seq_of_another_run_gets_the_first_page(people):
    alice = people["alice"]
    ws = connect_list(people["server"], alice)
    doc = make_document(alice, title="One")
    first = next_event(ws, "document_listed")
    alice.patch(f"/api/documents/{doc['id']}", json={"title": "Two"})
    second = next_event(ws, "document_listed")
    ws.send(json.dumps({"type": "resume", "after": first["seq"], "epoch": first["epoch"]}))
    assert next_event(ws, "document_listed") == second
    ws.send(json.dumps({"type": "resume", "after": second["seq"], "epoch": "0" * 16}))
    sync = next_event(ws, "sync")
    assert sync["seq"] == second["seq"] and [d["title"] for d in sync["documents"]["documents"]] == ["Two"]
    ws.close()


def test_signing_out_closes_the_list_socket(people):
    ws = connect_list(people["server"], people["bob"])
    assert people["bob"].post("/api/auth/signout").status_code in (200, 204)
    closing = checked(ws_events(ws, lambda e: e["type"] == "error"))[-1]
    assert closing["seq"] == 0 and closing["error"]["code"] == "unauthorized"


def test_in_local_mode_the_one_users_list_is_live(make_app, start_server):
    app = make_app()
    ws = connect_list(start_server(app))
    doc = make_document(app.test_client(), title="Alone")
    assert next_event(ws, "document_listed")["document"]["id"] == doc["id"]
    ws.close()


def test_with_redis_a_share_made_in_one_app_reaches_a_list_open_in_another(make_app, start_server, redis_url):
    one = password_app(make_app, REDIS_URL=redis_url)
    two = password_app(make_app, REDIS_URL=redis_url)
    alice, bob = two_users(one)
    doc = make_document(alice)
    on_two = two.test_client()
    assert signin(on_two, "bob").status_code == 200
    ws = connect_list(start_server(two), on_two)  # Bob's list open in the other process
    assert alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"}).status_code == 200
    assert next_event(ws, "document_listed")["document"]["id"] == doc["id"]
    assert alice.patch(f"/api/documents/{doc['id']}", json={"title": "Renamed"}).status_code == 200
    assert next_event(ws, "document_listed")["document"]["title"] == "Renamed"
    assert alice.delete(f"/api/documents/{doc['id']}/shares/bob").status_code == 200
    assert next_event(ws, "document_unlisted")["document_id"] == doc["id"]
    ws.close()


# ---- a chat's active branch, switched by a writer ----

def _two_replies(client) -> tuple[dict, str, str]:
    """A chat whose one question has two replies (the second active): (session, first reply, second reply)."""
    session = make_session(client, make_document(client))
    first = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Budget?"}).get_json()
    second = client.post(f"/api/sessions/{session['id']}/regenerate", json={}).get_json()
    return session, first["assistant_message"]["id"], second["assistant_message"]["id"]


def test_a_branch_switch_reaches_the_chats_other_sockets(live_server, client):
    session, old, new = _two_replies(client)
    other = connect_ws(live_server, session["id"])
    assert client.patch(f"/api/sessions/{session['id']}", json={"active_leaf": old}).status_code == 200
    event = ws_events(other, lambda e: e["type"] == "branch_changed")[-1]
    BranchChangedEvent.model_validate_json(json.dumps(event), strict=True)
    assert event["active_leaf"] == old and event["message_id"] == old and event["session_id"] == session["id"]
    # Choosing the branch shown already tells nobody; a title change is not a switch.
    client.patch(f"/api/sessions/{session['id']}", json={"active_leaf": old})
    client.patch(f"/api/sessions/{session['id']}", json={"title": "Renamed"})
    other.send(json.dumps({"type": "ping"}))
    assert "branch_changed" not in [e["type"] for e in ws_events(other, lambda e: e["type"] == "pong")]
    client.patch(f"/api/sessions/{session['id']}", json={"active_leaf": new})
    assert ws_events(other, lambda e: e["type"] == "branch_changed")[-1]["active_leaf"] == new
    other.close()
