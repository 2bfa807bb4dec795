"""The hub's memory stays bounded: idle channels are freed, all buffers together are capped, a socket that falls
behind gets merged deltas; resuming stays exact (a replay) or safe (`sync`)."""
from __future__ import annotations

import json
import time

import pytest
from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply

from vice_ai.live import connection as connection_module
from vice_ai.live.hub import Hub
from vice_ai.live.subscriber import MERGE_BACKLOG, QueueSubscriber
from vice_ai.services import services


def delta(n: int, message_id: str = "m1") -> dict:
    return {"type": "delta", "message_id": message_id, "text": f"t{n} "}


def test_a_channel_is_freed_when_nobody_listens_and_no_reply_runs():
    hub = Hub(grace=0)
    sub = QueueSubscriber()
    hub.subscribe("s1", "d1", sub)
    hub.publish("s1", "d1", {"type": "user_message"})  # a reply runs from here...
    hub.unsubscribe("s1", sub)
    assert hub.channels() == 1  # ...so the channel stays without subscribers
    for n in range(3):
        hub.publish("s1", "d1", delta(n))
    assert hub.since("s1", 1)[0] is not None
    last = hub.publish("s1", "d1", {"type": "done"})
    assert hub.channels() == 0 and hub.buffered() == 0
    # A resume from before the freeing gets sync (None), one at the last seq an empty replay.
    assert hub.since("s1", 2) == (None, last["seq"])
    assert hub.since("s1", last["seq"]) == ([], last["seq"])
    # The session's next events are numbered after every seq a tab could hold.
    again = QueueSubscriber()
    assert hub.subscribe("s1", "d1", again) == last["seq"]
    assert hub.publish("s1", "d1", {"type": "user_message"})["seq"] == last["seq"] + 1
    assert hub.since("s1", 2)[0] is None


def test_a_freed_channel_is_kept_for_its_grace_period_then_freed():
    hub = Hub(grace=1.0)
    sub = QueueSubscriber()
    hub.subscribe("s1", "d1", sub)
    hub.publish("s1", "d1", {"type": "notification", "kind": "x"})
    hub.unsubscribe("s1", sub)
    assert hub.channels() == 1 and hub.since("s1", 0)[0]  # a tab back at once still gets a replay
    time.sleep(1.1)
    hub.subscribe("s2", "d1", QueueSubscriber())  # any new channel sweeps the idle ones
    assert hub.channels() == 1 and hub.subscribers("s2")
    assert hub.since("s1", 0)[0] is None


def test_buffered_events_are_capped_across_channels_and_an_old_seq_gets_sync():
    hub = Hub(buffer_size=100, total_events=250, grace=0)
    subs = {f"s{n}": QueueSubscriber() for n in range(10)}
    for sid, sub in subs.items():
        hub.subscribe(sid, "d1", sub)
    for _ in range(60):
        for sid in subs:
            hub.publish(sid, "d1", {"type": "notification", "kind": "x"})
            assert hub.buffered() <= 250
    events, current = hub.since("s0", 1)
    assert events is None and current == 60  # cut: sync
    events, _ = hub.since("s9", 55)
    assert [e["seq"] for e in events] == [56, 57, 58, 59, 60]  # the newest are still replayed


def test_deltas_queued_behind_a_slow_socket_merge_and_keep_every_seq_covered():
    hub = Hub()
    sub = QueueSubscriber()
    hub.subscribe("s1", "d1", sub)
    sent = [hub.publish("s1", "d1", delta(n)) for n in range(500)]
    sent.append(hub.publish("s1", "d1", {"type": "done"}))
    got = []
    while True:
        batch = sub.queue.take(256, 0)
        if not batch:
            break
        got += batch
    assert len(got) < 100 and sub.queue.merged > 400
    deltas = [e for e in got if e["type"] == "delta"]
    assert "".join(e["text"] for e in deltas) == "".join(e["text"] for e in sent[:-1])
    # Every seq is covered once, in order: a merged delta stands for first_seq..seq.
    covered = [s for e in got for s in range(e.get("first_seq", e["seq"]), e["seq"] + 1)]
    assert covered == [e["seq"] for e in sent]
    assert got[0] is sent[0] and "first_seq" not in got[0]  # below the backlog, events go as they are
    # Resuming after a merged delta replays exactly what follows it.
    merged = next(e for e in deltas if "first_seq" in e)
    rest, _ = hub.since("s1", merged["seq"])
    assert "".join(e["text"] for e in rest if e["type"] == "delta") == "".join(
        e["text"] for e in sent[merged["seq"]:-1])


def test_a_published_event_is_encoded_once_for_every_socket():
    hub = Hub()
    a, b = QueueSubscriber(), QueueSubscriber()
    hub.subscribe("s1", "d1", a)
    hub.subscribe("s1", "d1", b)
    hub.publish("s1", "d1", delta(1))
    first, second = a.queue.get_nowait(), b.queue.get_nowait()
    assert first is second and first.text() is second.text() and json.loads(first.text()) == first


@pytest.fixture
def slow_socket(monkeypatch):
    """Every socket write takes 0.1 s, as for a client on a slow link: its buffer is full, so a write that
    may not wait (the publishing thread's) writes nothing and leaves the event to the writer."""
    original = connection_module.SessionConnection._send_events

    def slow(self, events):
        time.sleep(0.1)
        original(self, events)

    monkeypatch.setattr(connection_module.SessionConnection, "_send_events", slow)
    monkeypatch.setattr(connection_module.SessionConnection, "_write_now", staticmethod(lambda sock, data: 0))


def test_a_slow_socket_gets_merged_deltas_with_the_exact_text_and_resumes_after_one(
        make_app, fake_openai, start_server, slow_socket):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    words = [f"w{n} " for n in range(MERGE_BACKLOG * 6)]
    fake_openai.script(Reply(tokens=words))
    ws = connect_ws(server, session["id"])
    try:
        ws.send(json.dumps({"type": "send", "content": "Write a long answer"}))
        events = ws_events(ws, lambda e: e["type"] == "done", timeout=30)
    finally:
        ws.close()
    deltas = [e for e in events if e["type"] == "delta"]
    merged = [e for e in deltas if "first_seq" in e]
    assert merged and len(deltas) < len(words)
    assert "".join(e["text"] for e in deltas) == "".join(words) == events[-1]["message"]["content"]
    covered = [s for e in events for s in range(e.get("first_seq", e["seq"]), e["seq"] + 1)]
    assert covered == list(range(events[0]["seq"], events[-1]["seq"] + 1))
    # A new tab resuming after a merged delta gets exactly the rest of the text.
    later = connect_ws(server, session["id"])
    try:
        later.send(json.dumps({"type": "resume", "after": merged[0]["seq"], "epoch": merged[0]["epoch"]}))
        rest = ws_events(later, lambda e: e["type"] == "done", timeout=30)
    finally:
        later.close()
    tail = "".join(e["text"] for e in rest if e["type"] == "delta")
    assert "".join(e["text"] for e in deltas if e["seq"] <= merged[0]["seq"]) + tail == "".join(words)


def test_resume_after_the_channel_was_freed_gets_sync(make_app, fake_openai, start_server):
    app = make_app(**model_config(fake_openai))
    services(app).hub.grace = 0
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    fake_openai.script(Reply(tokens=["one ", "two ", "three "]))
    ws = connect_ws(server, session["id"])
    ws.send(json.dumps({"type": "send", "content": "Count"}))
    events = ws_events(ws, lambda e: e["type"] == "done")
    ws.close()
    hub = services(app).hub
    deadline = time.monotonic() + 5
    while hub.channels() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.channels() == 0  # the socket closed and the reply is done: freed
    later = connect_ws(server, session["id"])
    try:
        later.send(json.dumps({"type": "resume", "after": events[1]["seq"], "epoch": events[1]["epoch"]}))
        sync = ws_events(later, lambda e: e["type"] == "sync")[-1]
    finally:
        later.close()
    assert sync["seq"] >= events[-1]["seq"]
    assert sync["session"]["messages"][-1]["content"] == "one two three "
