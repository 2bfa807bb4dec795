"""The websocket over a real server thread with a real client (offline assistant)."""
from __future__ import annotations

import base64
import http.client
import json

import pytest
from conftest import connect_ws, make_document, make_session, ws_events
from ws_client import WSClient


def send(ws, **command) -> None:
    ws.send(json.dumps(command))


def is_final(event: dict) -> bool:
    return event["type"] in ("done", "error", "stopped")


@pytest.fixture
def chat(client, live_server):
    doc = make_document(client)
    session = make_session(client, doc)
    return live_server, doc, session


def test_reply_streams_as_numbered_events_and_is_saved(chat, client):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="What is the budget?")
    events = ws_events(ws, is_final)
    types = [e["type"] for e in events]
    assert types[0] == "user_message" and types[1] == "round_start" and types[-1] == "done"
    assert types.count("delta") > 3
    assert [e["seq"] for e in events] == list(range(events[0]["seq"], events[0]["seq"] + len(events)))
    done = events[-1]["message"]
    assert "".join(e["text"] for e in events if e["type"] == "delta") == done["content"]
    assert "40,000 euros" in done["content"] and "<strong>" in done["html"]
    stored = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [m["id"] for m in stored] == [events[0]["message"]["id"], done["id"]]
    assert stored[1]["status"] == "complete"
    ws.close()


def test_two_tabs_see_the_same_stream(chat):
    server, _, session = chat
    first, second = connect_ws(server, session["id"]), connect_ws(server, session["id"])
    send(first, type="send", content="Summarise")
    a, b = ws_events(first, is_final), ws_events(second, is_final)
    assert a == b
    first.close(), second.close()


def test_resume_replays_what_a_closed_tab_missed(chat):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Methods?")
    seen = ws_events(ws, lambda e: e["type"] == "round_start")
    ws.close()  # the tab goes away mid-reply
    later = connect_ws(server, session["id"])
    send(later, type="resume", after=seen[-1]["seq"], epoch=seen[-1]["epoch"])
    rest = ws_events(later, is_final)
    assert rest[0]["seq"] == seen[-1]["seq"] + 1
    full = seen + rest
    assert [e["seq"] for e in full] == list(range(1, len(full) + 1))
    later.close()


def test_resume_too_far_back_sends_the_saved_session(make_app, start_server, client):
    app = make_app(EVENT_BUFFER=5)
    server = start_server(app)
    c = app.test_client()
    doc = make_document(c)
    session = make_session(c, doc)
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Budget?")
    done = ws_events(ws, is_final)[-1]
    send(ws, type="resume", after=1, epoch=done["epoch"])
    sync = ws_events(ws, lambda e: e["type"] == "sync")[-1]
    assert sync["local"] is True
    assert [m["role"] for m in sync["session"]["messages"]] == ["user", "assistant"]
    ws.close()


def test_reply_in_one_section_notifies_a_tab_on_another(chat, client):
    server, doc, session = chat
    other = make_session(client, doc, index=1)
    watcher = connect_ws(server, other["id"])
    writer = connect_ws(server, session["id"])
    send(writer, type="send", content="Hello")
    ws_events(writer, is_final)
    note = ws_events(watcher, lambda e: e["type"] == "notification")[-1]
    assert note["kind"] == "reply_finished"
    assert note["section_id"] == doc["sections"][0]["id"]
    # The toast names the section (what the page shows) and then the chat.
    assert note["text"] == "A reply finished in \u201cSummary\u201d (chat \u201cHello\u201d)."
    assert note["seq"] >= 1
    watcher.close(), writer.close()


@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json", "bad_request"),
        (json.dumps({"type": "dance"}), "bad_request"),
        (json.dumps({"type": "send", "content": "   "}), "bad_request"),
        (json.dumps({"type": "send", "content": 42}), "bad_request"),
        (json.dumps({"type": "resume", "after": "x"}), "bad_request"),
    ],
)
def test_bad_commands_get_a_local_error_and_the_socket_stays_usable(chat, raw, code):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    ws.send(raw)
    event = ws_events(ws, lambda e: e["type"] == "error")[-1]
    assert event["local"] is True and event["error"]["code"] == code
    send(ws, type="ping")
    assert ws_events(ws, lambda e: e["type"] == "pong")
    ws.close()


def test_unknown_session_is_refused(live_server):
    ws = WSClient.connect(f"{live_server.ws_url}/ws/sessions/7b0c8f0e-4d43-4a55-9b8e-000000000000")
    event = json.loads(ws.receive(5))
    assert event["type"] == "error" and event["error"]["code"] == "not_found"


def handshake(server, path: str, origin: str) -> tuple[int, bytes]:
    """A raw websocket upgrade request; returns the status and body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path, headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(), "Origin": origin,
    })
    resp = conn.getresponse()
    status, body = resp.status, resp.read() if resp.status != 101 else b""
    conn.close()
    return status, body


def test_handshake_from_another_origin_is_refused(chat):
    server, _, session = chat
    path = f"/ws/sessions/{session['id']}"
    status, body = handshake(server, path, "http://evil.example")
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    assert handshake(server, path, server.url)[0] == 101


def test_deleting_a_session_tells_its_sockets(chat, client):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    assert ws_events(ws, lambda e: e["type"] == "deleted")
