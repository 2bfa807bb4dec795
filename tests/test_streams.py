"""Notification streams: worker threads that notify sockets until stopped, with limits and restarts."""
from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply, ToolCall

from vice_ai import shutdown
from vice_ai.services import services
from vice_ai.tools import ToolContext, ToolError

FAST = {"STREAM_MIN_INTERVAL": 0.01}


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stream-") and t.is_alive()]


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    yield
    deadline = time.monotonic() + 5
    while stream_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream_threads() == []


@pytest.fixture
def world(make_app, fake_openai, start_server):
    app = make_app(**model_config(fake_openai, **FAST))
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    fake_openai.default = Reply(text="nothing new")
    return app, client, doc, session, fake_openai, start_server(app)


def start(app, session: dict, goal: str = "Tell me when a budget appears", interval: float = 0.05) -> dict:
    ctx = ToolContext(session["id"], session["document_id"], session["section_id"],
                      services(app).state, streams=services(app).streams)
    return services(app).streams.start(ctx, goal, interval)



def notify(text: str) -> Reply:
    return Reply(text="", tool_calls=[ToolCall("send_notification", json.dumps({"message": text}))])


def test_the_assistant_starts_a_stream_and_delete_stops_it(world):
    app, client, _, session, fake, _ = world
    fake.script(Reply(text="", tool_calls=[ToolCall(
        "start_notification_stream", json.dumps({"goal": "watch the budget", "interval_seconds": 60}))]),
        Reply(text="I will keep an eye on it."))
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Watch the budget for me"})
    [stream] = client.get(f"/api/sessions/{session['id']}/streams").get_json()["streams"]
    assert stream["running"] is True and stream["goal"] == "watch the budget"
    assert len(stream_threads()) == 1
    assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    assert services(app).streams.running() == []


def test_notifications_reach_every_socket_and_the_document_as_toasts(world):
    app, client, doc, session, fake, server = world
    other = make_session(client, doc, index=1)
    tab1, tab2, elsewhere = connect_ws(server, session["id"]), connect_ws(server, session["id"]), connect_ws(server, other["id"])
    fake.script(notify("Section 1 now mentions 40,000 euros."), Reply(text="sent"))
    start(app, session)
    for ws in (tab1, tab2):
        event = ws_events(ws, lambda e: e["type"] == "notification" and e.get("kind") == "stream")[-1]
        assert event["text"] == "Section 1 now mentions 40,000 euros." and event["seq"] >= 1
    toast = ws_events(elsewhere, lambda e: e["type"] == "notification")[-1]
    assert toast["text"] == "Section 1 now mentions 40,000 euros." and toast["section_id"] == session["section_id"]
    sub = next(r for r in fake.chat_requests if "tools" in r.json)
    assert {t["function"]["name"] for t in sub.json["tools"]} == {
        "read_section", "list_sections", "search_document", "send_notification", "stop_notification_stream"}
    for ws in (tab1, tab2, elsewhere):
        ws.close()
    shutdown(app)


def test_the_model_stops_its_own_stream(world):
    app, client, _, session, fake, server = world
    stream = start(app, session, interval=0.05)
    fake.script(Reply(text="", tool_calls=[ToolCall("stop_notification_stream",
                                                    json.dumps({"stream_id": stream["id"]}))]))
    ws = connect_ws(server, session["id"])
    event = ws_events(ws, lambda e: e.get("kind") == "stream_stopped")[-1]
    assert "stopped by the assistant" in event["text"]
    [saved] = client.get(f"/api/sessions/{session['id']}/streams").get_json()["streams"]
    assert saved["status"] == "stopped" and saved["running"] is False
    ws.close()


def test_the_user_stops_a_stream(world):
    app, client, _, session, _, _ = world
    stream = start(app, session, interval=30)
    url = f"/api/sessions/{session['id']}/streams/{stream['id']}"
    assert client.delete(url).status_code == 200
    assert client.delete(url).status_code == 404
    assert stream_threads() == []


def test_shutdown_stops_threads_and_a_restart_starts_them_again(make_app, fake_openai):
    app = make_app(**model_config(fake_openai, **FAST))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.default = Reply(text="nothing new")
    stream = start(app, session, interval=0.05)
    fake_openai.wait_for_chat(1)
    shutdown(app)
    assert stream_threads() == []
    [saved] = client.get(f"/api/sessions/{session['id']}/streams").get_json()["streams"]
    assert saved["status"] == "running"  # a shutdown is not a stop

    again = make_app(**model_config(fake_openai, **FAST))
    streams = services(again).streams
    deadline = time.monotonic() + 5
    while streams.running() != [stream["id"]] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert streams.running() == [stream["id"]]
    seen = len(fake_openai.chat_requests)
    fake_openai.wait_for_chat(seen + 1)  # and it works
    shutdown(again)


def test_limits_per_session_in_total_and_on_the_interval(make_app, fake_openai):
    app = make_app(**model_config(fake_openai, STREAM_MIN_INTERVAL=5.0, STREAMS_PER_SESSION=2, STREAMS_TOTAL=3))
    client = app.test_client()
    doc = make_document(client)
    one, two = make_session(client, doc), make_session(client, doc, index=1)
    with pytest.raises(ToolError, match="at least 5"):
        start(app, one, interval=1)
    start(app, one, interval=60), start(app, one, interval=60)
    with pytest.raises(ToolError, match="limit"):
        start(app, one, interval=60)
    start(app, two, interval=60)
    with pytest.raises(ToolError, match="as many"):
        start(app, two, interval=60)
    shutdown(app)


def test_a_stream_ends_at_its_maximum_lifetime(make_app, fake_openai, start_server):
    app = make_app(**model_config(fake_openai, **FAST, STREAM_MAX_LIFETIME=0.2))
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    ws = connect_ws(server, session["id"])
    start(app, session, interval=0.05)
    event = ws_events(ws, lambda e: e.get("kind") == "stream_stopped")[-1]
    assert "maximum lifetime" in event["text"]
    ws.close()


def test_failing_model_calls_back_off_then_stop_the_stream_with_a_reason(make_app, fake_openai, start_server):
    # No retry budget: the model client reports each 500 at once, so one failed call is one request.
    app = make_app(**model_config(fake_openai, MAX_RETRY_AFTER=0, **FAST))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake, server = fake_openai, start_server(app)
    fake.default = Reply.http_error(500, "upstream broke")
    ws = connect_ws(server, session["id"])
    start(app, session, interval=0.05)
    event = ws_events(ws, lambda e: e.get("kind") == "stream_stopped")[-1]
    assert "failed 3 times" in event["text"]
    times = [r.received_at for r in fake.chat_requests]
    assert len(times) == 3
    # Waits of 1, 2 and 4 intervals: the third request comes at least 2 intervals after the second.
    assert times[2] - times[1] >= 0.1
    ws.close()


def test_a_deleted_session_does_not_bring_its_stream_back_after_a_restart(make_app, fake_openai, data_dir):
    from vice_ai.storage.metafiles import read_meta

    app = make_app(**model_config(fake_openai, **FAST))
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    start(app, session, interval=60)
    assert len(read_meta(services(app).state.store, "streams")) == 1
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200
    assert read_meta(services(app).state.store, "streams") == {}
    shutdown(app)
    again = make_app(**model_config(fake_openai, **FAST))
    assert services(again).streams.restore() == 0
