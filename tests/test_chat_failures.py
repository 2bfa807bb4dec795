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
    # Failures that are reported, not retried: the reply had started, or sending again cannot help.
    # name: (reply, reason, retryable, text streamed before the failure)
    "stall": (Reply(text=PARTIAL, end="stall", stall_seconds=5), "stalled", True, PARTIAL),
    "401": (Reply.http_error(401, f"Incorrect API key provided: {FAKE_KEY}."), "auth", False, ""),
    "404-model": (Reply.http_error(404, "The model does not exist.", code="model_not_found"),
                  "model_not_found", False, ""),
    "400": (Reply.http_error(400, "Bad request."), "bad_request", False, ""),
    "422": (Reply.http_error(422, "Unprocessable."), "bad_request", False, ""),
    "429-beyond-bound": (Reply.http_error(429, "Rate limit reached.", retry_after=30), "rate_limited", True, ""),
    "error-chunk": (Reply(text=PARTIAL, end="error", error_message="The engine overheated."),
                    "server_error", True, PARTIAL),
    "malformed-chunk": (Reply(text=PARTIAL, end="malformed"), "bad_stream", True, PARTIAL),
    "truncated-stream": (Reply(text=PARTIAL, end="truncate"), "truncated", True, PARTIAL),
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
    # Refused connections were tried again (within the 1-second budget) before giving up, and the tabs were told.
    waits = [e for e in events if e["type"] == "notification" and e["kind"] == "retrying"]
    assert waits and all(e["reason"] == "connection" for e in waits)
    assert re.search(rf"\({len(waits) + 1} tries over [\d.]+ seconds?\.\)", error["message"]), error["message"]

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


# Failures before the first token, each followed by a good answer: ridden out without the user doing anything.
RIDDEN_OUT = {
    "timeout-before-the-first-byte": (Reply(stall_before=5), "timeout"),
    "stall-before-the-first-token": (Reply(text="", end="stall", stall_seconds=5), "stalled"),
    "cut-before-the-first-token": (Reply(text="", end="cut"), "connection"),
    "truncated-before-the-first-token": (Reply(text="", end="truncate"), "truncated"),
    "malformed-before-the-first-token": (Reply(text="", end="malformed"), "bad_stream"),
    "error-chunk-before-the-first-token": (Reply(text="", end="error"), "server_error"),
    "408": (Reply.http_error(408, "Request timeout."), "timeout"),
    "409": (Reply.http_error(409, "Conflict."), "server_error"),
    "429": (Reply.http_error(429, "Slow down.", retry_after=0.2), "rate_limited"),
    "500": (Reply.http_error(500, f"Upstream broke while using key {FAKE_KEY}"), "server_error"),
    "502": (Reply.http_error(502, "Bad gateway."), "server_error"),
    "503": (Reply.http_error(503, "Unavailable.", retry_after=0.1), "server_error"),
    "504": (Reply.http_error(504, "Gateway timeout."), "server_error"),
}


@pytest.mark.parametrize("name", list(RIDDEN_OUT))
def test_a_failure_before_the_first_token_is_retried_and_the_tabs_are_told(name, chat, fake_openai, data_dir, caplog):
    failure, reason = RIDDEN_OUT[name]
    server, client, session = chat
    fake_openai.script(failure, Reply(text="Here it is after all."))
    ws = connect_ws(server, session["id"])
    send(ws, type="send", content="Please tighten the summary")
    events = ws_events(ws, is_final)
    ws.close()
    assert events[-1]["type"] == "done", events[-1]
    assert events[-1]["message"]["content"] == "Here it is after all."
    assert "".join(e["text"] for e in events if e["type"] == "delta") == "Here it is after all."
    (notice,) = [e for e in events if e["type"] == "notification"]
    assert notice["kind"] == "retrying" and notice["reason"] == reason and notice["seconds"] > 0
    assert "trying again in" in notice["text"] and not TECHNICAL.search(notice["text"]), notice["text"]
    assert notice["message_id"] == events[-1]["message"]["id"]
    if failure.retry_after is not None:  # Retry-After is honoured (with a little jitter on top, never less)
        assert failure.retry_after <= notice["seconds"] <= failure.retry_after * 1.1 + 0.01
    requests = fake_openai.chat_requests
    assert len(requests) == 2 and requests[0].json == requests[1].json  # the same request again
    messages = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert_no_key(events, data_dir, caplog)


def test_a_server_that_keeps_failing_is_given_up_on_within_the_budget(chat, fake_openai):
    server, client, session = chat
    fake_openai.default = Reply.http_error(503, "Unavailable.")
    started = time.monotonic()
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    assert resp.status_code == 502
    error = resp.get_json()["error"]
    tries = len(fake_openai.chat_requests)
    assert 2 <= tries <= 6 and time.monotonic() - started < 5
    assert error["reason"] == "server_error" and error["retryable"] is True
    assert error["message"].startswith("The model server failed (503).")
    assert f"({tries} tries over " in error["message"]


def test_a_cut_before_the_first_token_is_not_called_the_middle_of_the_reply(chat, fake_openai):
    server, client, session = chat
    fake_openai.default = Reply(text="", end="cut")
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    error = resp.get_json()["error"]
    assert (resp.status_code, error["reason"]) == (502, "connection")
    assert error["message"].startswith("The connection to the model server was lost before the reply started.")
    assert "middle" not in error["message"]


def test_a_429_that_never_ends_says_the_server_kept_refusing(chat, fake_openai):
    server, client, session = chat
    # Each wait fits the budget (1 second in all), but the server never stops refusing.
    fake_openai.default = Reply.http_error(429, "Slow down.", retry_after=0.3)
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    error = resp.get_json()["error"]
    tries = len(fake_openai.chat_requests)
    # Three waits of 0.3-0.33 seconds fit in the second, a fourth would not: four tries.
    assert (resp.status_code, error["reason"], tries) == (502, "rate_limited", 4)
    assert re.fullmatch(r"The model server kept refusing with 429 \(too many requests\): 4 tries over [\d.]+ "
                        r"seconds?, and this app waits at most 1 second in all\. Try again later\.",
                        error["message"]), error["message"]
    assert "longer than this app waits" not in error["message"]


def test_a_429_asking_for_longer_than_the_budget_is_reported_at_once(chat, fake_openai):
    server, client, session = chat
    fake_openai.script(Reply.http_error(429, "Slow down.", retry_after=30))
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    error = resp.get_json()["error"]
    assert len(fake_openai.chat_requests) == 1 and error["retry_after"] == 30
    assert error["message"] == ("The model server is rate-limiting requests (429). It asked to wait 30 seconds, "
                                "longer than this app waits in all (1 second). Try again later.")


@pytest.mark.parametrize("reply", [Reply(stall_before=5), Reply(text=PARTIAL, end="stall", stall_seconds=5)],
                         ids=["no-answer", "stalled-mid-reply"])
def test_a_timeout_answers_504(chat, fake_openai, reply):
    server, client, session = chat
    fake_openai.default = reply
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    assert resp.status_code == 504, resp.get_json()
    assert resp.get_json()["error"]["reason"] in ("timeout", "stalled")


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


def stored_reply(client, session_id: str) -> str:
    """The text of the chat's reply as a reader finds it on disk ("" before there is one)."""
    messages = client.get(f"/api/sessions/{session_id}").get_json()["messages"]
    return next((m["content"] for m in messages if m["role"] == "assistant"), "")


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
        # Well into the reply, and until a reader sees part of it on disk (a checkpoint: the server having
        # sent the words does not mean the worker, maybe starved of CPU, has written any yet).
        deadline, seen = time.monotonic() + 20, ""
        while (request.chunks_sent < 150 or not seen) and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = stored_reply(client, session["id"])
        assert request.chunks_sent >= 150 and seen
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
    assert partial.startswith(seen) and "".join(words).startswith(partial)  # nothing on disk was lost
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
    assert notice["kind"] == "retrying" and 0.2 <= notice["seconds"] <= 0.23 and "trying again" in notice["text"]
    assert events[-1]["type"] == "done" and events[-1]["message"]["content"] == "Worth the wait."
    ws.close()
