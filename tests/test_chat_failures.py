"""Model failures, stop and a killed server: nothing acknowledged is lost, the chat stays usable.

Each failure runs through the whole app (real server thread, real websocket
client, the real openai client against the fake server). The API key must
never show up in an event, a log line or a session file.
"""
from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import connect_ws, make_document, make_session, ws_events
from fake_openai import FAKE_KEY, Reply

ROOT = Path(__file__).resolve().parent.parent
PARTIAL = "Half of the answer"
# A name like APIConnectionError or a traceback is not a message for people.
TECHNICAL = re.compile(r"\b\w+(Error|Exception)\b|Traceback|httpx|openai\.")


def send(ws, **command) -> None:
    ws.send(json.dumps(command))


def is_final(event: dict) -> bool:
    return event["type"] in ("done", "error", "stopped")


def assert_no_key(events: list[dict], data_dir: str, caplog) -> None:
    assert FAKE_KEY not in json.dumps(events)
    assert FAKE_KEY not in caplog.text
    for path in Path(data_dir).rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path


@pytest.fixture
def chat(make_app, fake_openai, start_server, caplog):
    """A session on an app that talks to the fake server, with short timeouts; (server, client, session)."""
    caplog.set_level(logging.DEBUG)  # everything any library logs must be free of the key
    app = make_app(**fake_openai.app_config(IDLE_TIMEOUT=0.5, MAX_RETRY_AFTER=1.0))
    client = app.test_client()
    session = make_session(client, make_document(client))
    return start_server(app), client, session


FAILURES = {
    # name: (reply, reason, retryable, text streamed before the failure)
    "timeout": (Reply(stall_before=5), "timeout", True, ""),
    "stall": (Reply(text=PARTIAL, end="stall", stall_seconds=5), "stalled", True, PARTIAL),
    "401": (Reply.http_error(401, f"Incorrect API key provided: {FAKE_KEY}."), "auth", False, ""),
    "404-model": (Reply.http_error(404, "The model does not exist.", code="model_not_found"),
                  "model_not_found", False, ""),
    "429-beyond-bound": (Reply.http_error(429, "Rate limit reached.", retry_after=30), "rate_limited", True, ""),
    "500": (Reply.http_error(500, f"Upstream broke while using key {FAKE_KEY}"), "server_error", True, ""),
    "error-chunk": (Reply(text=PARTIAL, end="error", error_message="The engine overheated."),
                    "server_error", True, PARTIAL),
    "malformed-chunk": (Reply(text=PARTIAL, end="malformed"), "bad_stream", True, PARTIAL),
    "cut-connection": (Reply(text=PARTIAL, end="cut"), "connection", True, PARTIAL),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failure_keeps_the_turn_tells_the_client_and_sending_again_works(
        name, chat, fake_openai, make_app, data_dir, caplog):
    reply, reason, retryable, streamed = FAILURES[name]
    server, client, session = chat
    fake_openai.script(reply)
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Please tighten the summary")
    events = ws_events(ws, is_final)

    final = events[-1]
    assert final["type"] == "error"
    error = final["error"]
    assert error["reason"] == reason and error["retryable"] is retryable
    assert len(error["message"]) > 20 and not TECHNICAL.search(error["message"]), error["message"]
    assert "".join(e["text"] for e in events if e["type"] == "delta") == streamed
    status = "interrupted" if streamed else "error"
    assert final["message"]["status"] == status and final["message"]["content"] == streamed

    # On disk, as a restarted server sees it: the question, and what had streamed, marked.
    stored = make_app(**fake_openai.app_config()).test_client().get(f"/api/sessions/{session['id']}").get_json()
    user, assistant = stored["messages"]
    assert (user["role"], user["content"]) == ("user", "Please tighten the summary")
    assert (assistant["status"], assistant["content"]) == (status, streamed)
    assert assistant["error"]["reason"] == reason

    fake_openai.script(Reply(text="Here it is, tighter."))
    send(ws, type="send", content="Try again please")
    again = ws_events(ws, is_final)
    ws.close()
    assert again[-1]["type"] == "done" and again[-1]["message"]["content"] == "Here it is, tighter."
    assert_no_key(events + again, data_dir, caplog)


def test_connection_refused_then_the_server_comes_back(chat, fake_openai, data_dir, caplog):
    server, client, session = chat
    fake_openai.close()
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Anyone there?")
    events = ws_events(ws, is_final)
    error = events[-1]["error"]
    assert error["reason"] == "connection" and error["retryable"] is True
    assert "Is it running?" in error["message"]
    assert events[-1]["message"]["status"] == "error"

    fake_openai.start()  # same address as before
    fake_openai.script(Reply(text="Back again."))
    send(ws, type="send", content="Anyone there now?")
    again = ws_events(ws, is_final)
    ws.close()
    assert again[-1]["type"] == "done" and again[-1]["message"]["content"] == "Back again."
    messages = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"), ("assistant", "error"), ("user", "complete"), ("assistant", "complete")]
    assert_no_key(events + again, data_dir, caplog)


def test_429_within_the_bound_is_retried(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply.http_error(429, "Slow down.", retry_after=0.2), Reply(text="Worth the wait."))
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["assistant_message"]["content"] == "Worth the wait."
    assert len(fake_openai.chat_requests) == 2


def test_http_door_reports_the_failure_with_both_messages(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply(text=PARTIAL, end="cut"))
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    assert resp.status_code == 502
    error = resp.get_json()["error"]
    assert error["reason"] == "connection" and error["retryable"] is True
    assert error["user_message"]["content"] == "Hello"
    assert error["assistant_message"]["status"] == "interrupted"
    assert error["assistant_message"]["content"] == PARTIAL


@pytest.fixture
def patient_chat(make_app, fake_openai, start_server):
    """Like `chat`, but the idle timeout is long: only a stop can end a silent stream quickly."""
    app = make_app(**fake_openai.app_config(IDLE_TIMEOUT=120))
    client = app.test_client()
    session = make_session(client, make_document(client))
    return start_server(app), client, session


def test_stop_cuts_the_upstream_and_keeps_the_partial_reply(patient_chat, fake_openai, data_dir, caplog):
    server, client, session = patient_chat
    # Three words, then two minutes of silence: a stop that waited for the next chunk would hang.
    fake_openai.script(Reply(tokens=["word0 ", "word1 ", "word2 "], end="stall", stall_seconds=120))
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Write a lot")
    events = ws_events(ws, lambda e: e["type"] == "delta" and e["text"] == "word2 ")
    send(ws, type="stop")
    events += ws_events(ws, is_final)
    ws.close()
    assert events[-1]["type"] == "stopped"
    assert fake_openai.chat_requests[0].disconnected.wait(5), "the upstream connection was not closed"
    streamed = "".join(e["text"] for e in events if e["type"] == "delta")
    assert streamed == "word0 word1 word2 "
    stored = client.get(f"/api/sessions/{session['id']}").get_json()["messages"][-1]
    assert (stored["status"], stored["content"]) == ("stopped", streamed)
    assert_no_key(events, data_dir, caplog)


def test_stop_before_the_first_token_does_not_wait_for_the_server(patient_chat, fake_openai):
    server, client, session = patient_chat
    fake_openai.script(Reply(stall_before=120))
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Think hard")
    request = fake_openai.wait_for_chat()
    send(ws, type="stop")
    events = ws_events(ws, is_final)
    ws.close()
    assert events[-1]["type"] == "stopped"
    assert request.disconnected.wait(5)
    stored = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [(m["role"], m["status"]) for m in stored] == [("user", "complete"), ("assistant", "stopped")]


KILLED_WORKER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from vice_ai.services import services
from vice_ai import create_app
app = create_app({"DATA_DIR": sys.argv[2], "OPENAI_BASE_URL": sys.argv[3],
                  "OPENAI_API_KEY": sys.argv[4], "MODEL": "fake-small"})
services(app).engine.send_message(sys.argv[5], "Write a long answer")
print("started", flush=True)
time.sleep(120)
"""


def test_a_killed_generation_leaves_the_session_usable_after_restart(make_app, fake_openai, data_dir):
    client = make_app(**fake_openai.app_config()).test_client()
    session = make_session(client, make_document(client))
    words = [f"part{i} " for i in range(2000)]
    fake_openai.script(Reply(tokens=words, delay=0.02))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(ROOT), data_dir, fake_openai.url, FAKE_KEY, session["id"]],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        request = fake_openai.wait_for_chat()
        # Long enough for the engine to checkpoint the partial reply at least once.
        deadline = time.monotonic() + 20
        while request.chunks_sent < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert request.chunks_sent >= 150
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert request.disconnected.wait(5)

    restarted = make_app(**fake_openai.app_config()).test_client()
    messages = restarted.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "interrupted")]
    assert messages[0]["content"] == "Write a long answer"
    partial = messages[1]["content"]
    assert partial and "".join(words).startswith(partial)
    assert messages[1]["error"]["retryable"] is True

    fake_openai.script(Reply(text="A fresh answer."))
    resp = restarted.post(f"/api/sessions/{session['id']}/messages", json={"content": "Go on"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["assistant_message"]["content"] == "A fresh answer."


def test_a_429_wait_is_announced_to_the_tabs(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply.http_error(429, "Slow down.", retry_after=0.2), Reply(text="Worth the wait."))
    ws = connect_ws(server, session["id"])
    ws.send(json.dumps({"type": "send", "content": "Hello"}))
    events = ws_events(ws, lambda e: e["type"] in ("done", "error"))
    notice = next(e for e in events if e["type"] == "notification")
    assert notice["kind"] == "retrying" and notice["seconds"] == 0.2 and "trying again" in notice["text"]
    assert events[-1]["type"] == "done" and events[-1]["message"]["content"] == "Worth the wait."
    ws.close()
