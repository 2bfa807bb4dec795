"""The websocket's declared commands and events (api/schemas/websocket.py), over a real server and client.

Commands are parsed like HTTP bodies (bounded nesting, no lone surrogates) and
validated with the command models: every refusal is one local `error` event and
the socket stays usable. Every event a real chat produces matches its declared
model, and the served OpenAPI document lists exactly what the README documents.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import connect_ws, make_document, make_session, ws_events
from fake_openai import Reply, ToolCall
from pydantic import ValidationError
from ws_client import WSClient

from vice_ai import shutdown
from vice_ai.api.schemas.websocket import COMMANDS, EVENTS, NotificationEvent, event_model
from vice_ai.api.ws import parse_command
from vice_ai.errors import BadRequest

README = Path(__file__).resolve().parent.parent / "README.md"


def local_error_then_pong(ws: Any, raw: str) -> dict[str, Any]:
    """Send one raw command; it must answer exactly one local error, and a ping after it a pong."""
    ws.send(raw)
    ws.send(json.dumps({"type": "ping"}))
    events = ws_events(ws, lambda e: e["type"] == "pong")
    assert [e["type"] for e in events] == ["error", "pong"], events
    error = events[0]
    assert error["local"] is True and "seq" not in error and error["error"]["code"] == "bad_request"
    assert error["error"]["retryable"] is False
    return error["error"]


@pytest.fixture
def chat(client, live_server):
    doc = make_document(client)
    return live_server, client, make_session(client, doc)


# ---- hostile and wrong commands ----

def test_deep_nesting_is_an_error_event_and_the_socket_stays_usable(chat):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    # 990 levels made the reader thread die (RecursionError) and the socket went quiet.
    error = local_error_then_pong(ws, "[" * 990 + "]" * 990)
    assert "nested more than 32 levels" in error["message"] and error["limit"] == 32
    nested = '{"type": "send", "content": ' + "[" * 990 + "]" * 990 + "}"
    assert "nested more than 32" in local_error_then_pong(ws, nested)["message"]
    ws.close()


def test_a_lone_surrogate_is_an_error_event_and_the_socket_stays_usable(chat):
    server, client, session = chat
    ws = connect_ws(server, session["id"])
    # "\ud800" in content used to be saved and then close the socket (it cannot be written as UTF-8).
    error = local_error_then_pong(ws, '{"type": "send", "content": "Hi \\ud800 there"}')
    assert error["field"] == "content" and "lone UTF-16 surrogate" in error["message"]
    error = local_error_then_pong(ws, '{"type": "send", "content": "ok", "\\udfff": 1}')
    assert "field name" in error["message"] and "surrogate" in error["message"]
    assert client.get(f"/api/sessions/{session['id']}").get_json()["messages"] == []  # nothing was saved
    # ... and the socket still chats.
    ws.send(json.dumps({"type": "send", "content": "Hello"}))
    assert ws_events(ws, lambda e: e["type"] in ("done", "error"))[-1]["type"] == "done"
    ws.close()


@pytest.mark.parametrize("raw, field, words", [
    ("not json", None, "The JSON is not valid"),
    ('{"type": "ping", "n": NaN}', None, "NaN is not a valid JSON number"),
    ("[1, 2]", None, 'Commands are JSON objects with a "type"'),
    ('{"content": "hi"}', "type", 'Commands are JSON objects with a "type"'),
    ('{"type": 5}', "type", 'Commands are JSON objects with a "type"'),
    ('{"type": "dance"}', "type", "Unknown command type 'dance'"),
    ('{"type": "send"}', "content", "'content' is required"),
    ('{"type": "send", "content": 42}', "content", "'content' must be a string"),
    ('{"type": "send", "content": ""}', "content", "'content' must not be empty"),
    ('{"type": "send", "content": "   "}', "content", "The message is empty"),
    ('{"type": "resume"}', "after", "'after' is required"),
    ('{"type": "resume", "after": "x"}', "after", "'after' must be an integer"),
    ('{"type": "resume", "after": true}', "after", "'after' must be an integer"),
    ('{"type": "resume", "after": 1.5}', "after", "'after' must be an integer"),
    ('{"type": "resume", "after": -1}', "after", "'after' must be at least 0"),
    ('{"type": "ping", "after": 3}', "after", "Unknown field(s): after"),
])
def test_a_wrong_command_names_what_is_wrong(chat, raw, field, words):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    error = local_error_then_pong(ws, raw)
    assert words in error["message"]
    assert error.get("field") == field
    ws.close()


def test_a_wrong_command_in_bytes_is_refused_like_text(chat):
    server, _, session = chat
    ws = connect_ws(server, session["id"])
    error = local_error_then_pong(ws, b'{"type": "send", "content": "\xff"}')
    assert error["message"].startswith("The JSON is not valid UTF-8")
    ws.send(json.dumps({"type": "resume", "after": 0}).encode())  # no epoch: the saved session
    ws.send(b'{"type": "ping"}')
    assert [e["type"] for e in ws_events(ws, lambda e: e["type"] == "pong")] == ["sync", "pong"]
    ws.close()


def test_the_message_limit_is_the_apps(make_app, start_server):
    app = make_app(MAX_MESSAGE_CHARS=10)
    server = start_server(app)
    client = app.test_client()
    session = make_session(client, make_document(client))
    ws = connect_ws(server, session["id"])
    error = local_error_then_pong(ws, json.dumps({"type": "send", "content": "x" * 11}))
    assert error == {"code": "bad_request", "message": "'content' is longer than 10 characters.", "field": "content",
                     "limit": 10, "retryable": False}
    ws.send(json.dumps({"type": "send", "content": "x" * 10}))
    assert ws_events(ws, lambda e: e["type"] in ("done", "error"))[-1]["type"] == "done"
    ws.close()


def test_parse_command_returns_the_commands_model():
    assert parse_command('{"type": "send", "content": "Hi"}').content == "Hi"
    assert parse_command(b'{"type": "resume", "after": 7}').after == 7
    assert parse_command(b'{"type": "resume", "after": 7, "epoch": "0f3a"}').epoch == "0f3a"
    needs = {"send": {"content": "x"}, "resume": {"after": 0}}
    for kind, model in COMMANDS.items():
        assert type(parse_command(json.dumps({"type": kind, **needs.get(kind, {})}))) is model
    with pytest.raises(BadRequest, match="nested more than 32"):
        parse_command("[" * 33 + "]" * 33)


# ---- every event of a real chat matches its declared model ----

class Recorder:
    """A websocket client that keeps every raw event it reads, to check them all at the end."""

    def __init__(self, server: Any, session_id: str) -> None:
        self.ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session_id}")
        self.raw: list[str] = []

    def send(self, **command: Any) -> None:
        self.ws.send(json.dumps(command))

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = self.ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            if raw is None:
                continue
            self.raw.append(raw)
            events.append(json.loads(raw))
            if done(events[-1]):
                return events
        raise AssertionError(f"timed out; got {[e.get('type') for e in events]}")

    def ping(self) -> list[dict[str, Any]]:
        self.send(type="ping")
        return self.until(lambda e: e["type"] == "pong")


def is_final(event: dict[str, Any]) -> bool:
    return event["type"] in ("done", "stopped", "error") and not event.get("local")


def check_events(raw_events: list[str]) -> set[str]:
    """Validate every event (as sent, strictly) against the model of its type; returns the types seen."""
    seen = set()
    for raw in raw_events:
        event = json.loads(raw)
        model = event_model(event)
        assert model is not None, f"event type {event.get('type')!r} has no declared model: {raw[:300]}"
        try:
            parsed = model.model_validate_json(raw, strict=True)
        except ValidationError as exc:
            raise AssertionError(f"{event['type']} event does not match {model.__name__}: {exc}\n{raw[:500]}") from None
        if model is not NotificationEvent:  # notifications carry what their kind needs; others only declared fields
            assert not parsed.model_extra, f"{event['type']} has undeclared fields {sorted(parsed.model_extra)}"
        seen.add(event["type"])
    return seen


def test_every_event_of_a_real_chat_matches_its_declared_model(make_app, fake_openai, start_server):
    app = make_app(**fake_openai.app_config())
    server = start_server(app)
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    other = make_session(client, doc, index=1)
    tab, watcher = Recorder(server, session["id"]), Recorder(server, other["id"])
    assert [e["type"] for e in tab.ping()] == ["hello", "pong"]
    watcher.ping()

    # A reply with a 429 wait, a tool round and a streamed answer slow enough to carry rendered html.
    fake_openai.script(
        Reply.http_error(429, "Slow down.", retry_after=0.2),
        Reply(text="", tool_calls=[ToolCall("read_section", "{}", id="call_a")]),
        Reply(tokens=["The ", "budget ", "is ", "**40,000** ", "euros."], delay=0.12),
    )
    tab.send(type="send", content="What is the budget?")
    reply = tab.until(is_final)
    types = [e["type"] for e in reply]
    assert types[-1] == "done" and {"notification", "tool_call", "tool_result"} <= set(types)
    assert any("html" in e for e in reply if e["type"] == "delta")
    assert watcher.until(lambda e: e["type"] == "notification")[-1]["kind"] == "reply_finished"

    tab.send(type="dance")  # a command error: local, unnumbered
    assert tab.until(lambda e: e["type"] == "error")[-1]["local"] is True

    fake_openai.script(Reply(tokens=[f"word{i} " for i in range(200)], delay=0.05))
    tab.send(type="send", content="Write a long answer")
    tab.until(lambda e: e["type"] == "delta")
    tab.send(type="stop")
    stopped = tab.until(is_final)[-1]
    assert stopped["type"] == "stopped"

    fake_openai.script(Reply.http_error(401, "Bad key."))
    tab.send(type="retry")
    failed = tab.until(is_final)[-1]
    assert failed["type"] == "error" and failed["error"]["reason"] == "auth" and failed["seq"] >= 1
    # Back to the stopped reply, a sibling of the failed one: a switch of the active branch.
    assert client.patch(f"/api/sessions/{session['id']}", json={"active_leaf": stopped["message"]["id"]}).status_code == 200
    assert tab.until(lambda e: e["type"] == "branch_changed")[-1]["active_leaf"] == stopped["message"]["id"]

    tab.send(type="resume", after=0, epoch=failed["epoch"])  # the whole buffer again
    replayed = tab.ping()
    assert [e["seq"] for e in replayed[:-1]] == list(range(1, len(replayed)))
    tab.send(type="resume", after=10**6, epoch=failed["epoch"])  # past the counter: the saved session instead
    assert tab.until(lambda e: e["type"] == "sync")[-1]["session"]["id"] == session["id"]
    for other_run in ({"epoch": "an-earlier-run"}, {}):  # a tab from before a restart, or one that cannot say
        tab.send(type="resume", after=0, **other_run)
        assert tab.until(lambda e: e["type"] == "sync")[-1]["epoch"] == failed["epoch"]

    assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    tab.until(lambda e: e["type"] == "deleted")

    shutdown(app)  # the server stops: every socket still open hears so, then closes
    assert watcher.until(lambda e: e["type"] == "restarting")[-1]["local"] is True

    seen = check_events(tab.raw) | check_events(watcher.raw)
    assert seen == set(EVENTS), f"not exercised: {set(EVENTS) - seen}"


def test_the_not_found_answer_matches_the_error_model(live_server):
    ws = WSClient.connect(f"{live_server.ws_url}/ws/sessions/7b0c8f0e-4d43-4a55-9b8e-000000000000")
    raw = ws.receive(5)
    assert check_events([raw]) == {"error"} and json.loads(raw)["error"]["code"] == "not_found"


# ---- the OpenAPI document and the README agree ----

def websocket_section(readme: str) -> str:
    start = readme.index("## Websocket")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def table(section: str, header: str) -> list[str]:
    """The first cells of the Markdown table whose header row starts with `header`."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    cells = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells.append(line.split("|")[1].strip())
    return cells


def documented(readme: str) -> tuple[set[str], set[str]]:
    """(command types, event types) the README's Websocket section documents."""
    section = websocket_section(readme)
    command_cells = table(section, "| command |")
    commands = {re.search(r'"type": "(\w+)"', cell)[1] for cell in command_cells}
    events = {cell.strip("`") for cell in table(section, "| event |")}
    prose = "\n".join(line for line in section.splitlines() if not line.startswith("|"))
    events |= set(re.findall(r'\{"type": "(\w+)"', prose))  # {"type": "hello", ...} and the like
    local = re.search(r'only carry `"local": true`:((?:\s*`\w+`,)+)', prose)
    assert local, "README no longer lists the local replies after 'only carry `\"local\": true`:'"
    events |= set(re.findall(r"`(\w+)`", local[1]))
    return commands, events


def test_the_served_document_lists_exactly_the_documented_commands_and_events(client):
    commands, events = documented(README.read_text(encoding="utf-8"))
    assert commands == {"send", "retry", "continue", "stop", "resume", "ping"}  # the parser still finds the tables
    assert len(events) == 15
    doc = client.get("/api/openapi.json").get_json()
    served = doc["x-websocket"]
    assert set(served["commands"]) == commands
    assert set(served["events"]) == events
    schemas = doc["components"]["schemas"]
    for group in ("commands", "events"):
        for kind, ref in served[group].items():
            schema = schemas[ref["$ref"].rsplit("/", 1)[-1]]
            assert schema["properties"]["type"]["const"] == kind
            assert "type" in schema["required"]
    assert schemas["SendCommand"]["additionalProperties"] is False
    assert schemas["ResumeCommand"]["properties"]["after"]["minimum"] == 0
    assert {"seq", "session_id"} <= set(schemas["DeltaEvent"]["required"])
    assert schemas["HelloEvent"]["properties"]["local"]["const"] is True
    socket = doc["paths"]["/ws/sessions/{session_id}"]["get"]
    assert socket["x-websocket"] is True and "x-undeclared" not in socket and socket["summary"]


def test_a_command_that_fails_in_the_server_is_an_error_event_not_a_dead_reader(caplog):
    from vice_ai.live.connection import SessionConnection
    from vice_ai.live.hub import Hub

    class BrokenEngine:
        def regenerate(self, session_id: str, message_id: str | None = None) -> None:
            raise RuntimeError("boom")

    conn = SessionConnection(None, "s1", "d1", Hub(), BrokenEngine(), snapshot=dict, parse=parse_command)
    conn.handle('{"type": "retry"}')
    conn.handle('{"type": "ping"}')
    error, pong = conn.sub.queue.get_nowait(), conn.sub.queue.get_nowait()
    assert error["type"] == "error" and error["local"] is True and error["error"]["code"] == "internal_error"
    assert "boom" not in json.dumps(error) and "RuntimeError" in caplog.text
    assert pong == {"type": "pong", "local": True}
    check_events([json.dumps(error), json.dumps(pong)])


def test_the_document_socket_lists_exactly_the_documented_events(client):
    """`x-websocket.documents`: the document socket's commands and events, as the README's table and prose say."""
    from vice_ai.api.schemas.document_socket import DOCUMENT_COMMANDS, DOCUMENT_EVENTS

    section = websocket_section(README.read_text(encoding="utf-8"))
    part = section[section.index("### The document socket"):]
    documented = {cell.strip("`") for cell in table(part, "| document event |")}
    assert len(documented) == 11  # the parser still finds the table
    # Besides the table: the local replies and the error, named in the prose as on the chat socket.
    local = {"hello", "sync", "error", "pong", "restarting"}
    assert all(f"`{kind}`" in part for kind in local)
    documented |= local
    served = client.get("/api/openapi.json").get_json()["x-websocket"]["documents"]
    assert set(served["events"]) == documented == set(DOCUMENT_EVENTS)
    assert set(served["commands"]) == set(DOCUMENT_COMMANDS) == {"resume", "ping"}
    doc = client.get("/api/openapi.json").get_json()
    socket = doc["paths"]["/ws/documents/{doc_id}"]["get"]
    assert socket["x-websocket"] is True and socket["summary"]


def test_the_document_list_socket_lists_exactly_the_documented_events(client):
    """`x-websocket.lists`: the document list socket's commands and events, as the README's table and prose say."""
    from vice_ai.api.schemas.list_socket import LIST_COMMANDS, LIST_EVENTS

    section = websocket_section(README.read_text(encoding="utf-8"))
    part = section[section.index("### The document list socket"):]
    documented = {cell.strip("`") for cell in table(part, "| list event |")}
    assert len(documented) == 2  # the parser still finds the table
    local = {"hello", "sync", "error", "pong", "restarting"}
    assert all(f"`{kind}`" in part for kind in local)
    documented |= local
    doc = client.get("/api/openapi.json").get_json()
    served = doc["x-websocket"]["lists"]
    assert set(served["events"]) == documented == set(LIST_EVENTS)
    assert set(served["commands"]) == set(LIST_COMMANDS) == {"resume", "ping"}
    socket = doc["paths"]["/ws/documents"]["get"]
    assert socket["x-websocket"] is True and socket["summary"]
