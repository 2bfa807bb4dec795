"""Continue: an interrupted reply is taken up where it stopped, and the rest is appended to the same message.

A stream that breaks after some text reached the user is kept as `interrupted`
(never retried behind the user's back, never saved `complete`). `continue`
(websocket) or `POST /api/sessions/<id>/continue` asks the model to go on from
the partial text; the new text streams into the same reply.
"""
from __future__ import annotations

import json

import pytest
from conftest import connect_ws, make_document, make_session, ws_events
from fake_openai import Reply

from vice_ai.chat.engine import CONTINUE_PROMPT

PARTIAL = "The budget is forty thousand"
REST = " euros over two years."


def is_final(event: dict) -> bool:
    return event["type"] in ("done", "error", "stopped") and not event.get("local")


@pytest.fixture
def chat(make_app, fake_openai, start_server):
    app = make_app(**fake_openai.app_config(IDLE_TIMEOUT=0.5, MAX_RETRY_AFTER=1.0))
    client = app.test_client()
    session = make_session(client, make_document(client))
    return start_server(app), client, session


@pytest.mark.parametrize("end", ["cut", "truncate", "malformed", "stall"])
def test_continue_appends_to_the_interrupted_reply_over_the_websocket(chat, fake_openai, end):
    server, client, session = chat
    fake_openai.script(Reply(text=PARTIAL, end=end, stall_seconds=5), Reply(text=REST))
    ws = connect_ws(server, session["id"])
    ws.send(json.dumps({"type": "send", "content": "What is the budget?"}))
    failed = ws_events(ws, is_final)
    reply = failed[-1]["message"]
    assert failed[-1]["type"] == "error" and (reply["status"], reply["content"]) == ("interrupted", PARTIAL)
    assert len(fake_openai.chat_requests) == 1  # text had reached the user: no retry behind their back

    ws.send(json.dumps({"type": "continue"}))
    events = ws_events(ws, is_final)
    ws.close()
    start = events[0]
    assert start["type"] == "round_start" and start["continued"] is True
    assert start["message"]["id"] == reply["id"] and start["message"]["content"] == PARTIAL
    assert start["message"]["status"] == "streaming" and start["message"]["error"] is None
    assert "user_message" not in [e["type"] for e in events]
    assert "".join(e["text"] for e in events if e["type"] == "delta") == REST
    done = events[-1]
    assert done["type"] == "done" and done["message"]["id"] == reply["id"]
    assert (done["message"]["status"], done["message"]["content"]) == ("complete", PARTIAL + REST)

    # The model saw the conversation up to its own cut-off text, then the request to go on.
    sent = fake_openai.chat_requests[-1].json
    assert sent["messages"][-2:] == [{"role": "assistant", "content": PARTIAL},
                                     {"role": "user", "content": CONTINUE_PROMPT}]
    assert sent["messages"][-3] == {"role": "user", "content": "What is the budget?"}
    messages = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [(m["role"], m["status"], m["content"]) for m in messages] == [
        ("user", "complete", "What is the budget?"), ("assistant", "complete", PARTIAL + REST)]


def test_continue_over_http_and_a_continuation_that_breaks_again(chat, fake_openai, make_app):
    server, client, session = chat
    fake_openai.script(Reply(text=PARTIAL, end="cut"), Reply(text=" euros", end="cut"), Reply(text=" in all."))
    sid = session["id"]
    first = client.post(f"/api/sessions/{sid}/messages", json={"content": "What is the budget?"})
    assert first.status_code == 502 and first.get_json()["error"]["assistant_message"]["content"] == PARTIAL

    again = client.post(f"/api/sessions/{sid}/continue")
    assert again.status_code == 502
    error = again.get_json()["error"]
    assert error["reason"] == "connection" and "in the middle of the reply" in error["message"]
    assert error["user_message"]["content"] == "What is the budget?"
    assert (error["assistant_message"]["status"], error["assistant_message"]["content"]) == (
        "interrupted", PARTIAL + " euros")

    done = client.post(f"/api/sessions/{sid}/continue")
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["user_message"]["content"] == "What is the budget?"
    assert (body["assistant_message"]["status"], body["assistant_message"]["content"]) == (
        "complete", PARTIAL + " euros in all.")
    # After a restart, the one reply is there, whole.
    stored = make_app(**fake_openai.app_config()).test_client().get(f"/api/sessions/{sid}").get_json()
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [
        ("user", "What is the budget?"), ("assistant", PARTIAL + " euros in all.")]


def test_a_failure_before_the_continuation_starts_is_retried_too(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply(text=PARTIAL, end="cut"), Reply.http_error(503, "Busy."), Reply(text=REST))
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "What is the budget?"})
    resp = client.post(f"/api/sessions/{session['id']}/continue")
    assert resp.status_code == 201 and resp.get_json()["assistant_message"]["content"] == PARTIAL + REST


@pytest.mark.parametrize("setup", ["empty", "complete", "error-without-text", "stopped"])
def test_only_an_interrupted_last_reply_can_be_continued(chat, fake_openai, setup):
    server, client, session = chat
    sid = session["id"]
    if setup == "complete":
        fake_openai.script(Reply(text="All done."))
    elif setup == "error-without-text":
        fake_openai.script(Reply.http_error(401, "Bad key."))
    if setup != "empty" and setup != "stopped":
        client.post(f"/api/sessions/{sid}/messages", json={"content": "Hello"})
    if setup == "stopped":
        fake_openai.script(Reply(tokens=[f"word{i} " for i in range(200)], delay=0.05))
        ws = connect_ws(server, sid)
        ws.send(json.dumps({"type": "send", "content": "Write a lot"}))
        ws_events(ws, lambda e: e["type"] == "delta")
        ws.send(json.dumps({"type": "stop"}))
        assert ws_events(ws, is_final)[-1]["type"] == "stopped"
        ws.close()
    before = client.get(f"/api/sessions/{sid}").get_json()["messages"]
    requests = len(fake_openai.chat_requests)
    resp = client.post(f"/api/sessions/{sid}/continue")
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["message"] == (
        "Only an interrupted reply, the last message of the chat's active branch, can be continued.")
    assert client.get(f"/api/sessions/{sid}").get_json()["messages"] == before
    assert len(fake_openai.chat_requests) == requests


def test_continue_while_a_reply_is_running_is_busy(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply(text=PARTIAL, end="cut"), Reply(tokens=["a ", "b ", "c "], delay=0.3))
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    ws = connect_ws(server, session["id"])
    ws.send(json.dumps({"type": "continue"}))
    ws_events(ws, lambda e: e["type"] == "round_start")
    ws.send(json.dumps({"type": "continue"}))
    busy = ws_events(ws, lambda e: e["type"] == "error" and e.get("local"))[-1]
    assert busy["error"]["code"] == "busy" and busy["error"]["retryable"] is True
    assert ws_events(ws, is_final)[-1]["message"]["content"] == PARTIAL + "a b c "
    ws.close()
