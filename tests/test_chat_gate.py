"""The gate: a few rounds do their own work at once, and a reply waiting for its model holds no slot."""
from __future__ import annotations

import threading
import time

from conftest import make_document, make_session
from fake_openai import Reply
from ws_client import WSClient

from vice_ai.chat.gate import SLOTS, YIELD_SECONDS, Gate


def test_a_holder_past_the_slots_waits_until_one_is_given_back():
    gate = Gate(2)
    inside: list[int] = []
    go = threading.Event()

    def hold(n: int) -> None:
        with gate.held():
            inside.append(n)
            go.wait(5)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert len(inside) == 2  # the third waits
    go.set()
    for t in threads:
        t.join(5)
    assert sorted(inside) == [0, 1, 2]


def test_a_slot_given_back_while_waiting_lets_another_in():
    gate = Gate(1)
    got_in = threading.Event()

    def other() -> None:
        with gate.held():
            got_in.set()

    with gate.held():
        waiter = threading.Thread(target=other)
        waiter.start()
        assert not got_in.wait(0.2)  # the one slot is taken
        with gate.released():
            assert got_in.wait(5)  # given back while this one waits: the other gets in
            waiter.join(5)
    again = threading.Thread(target=other)
    again.start()
    again.join(5)
    assert not again.is_alive()  # taken back and given back again at the end


def test_more_replies_than_slots_stream_at_the_same_time(make_app, fake_openai):
    """Every reply waits for its model outside the gate: twice SLOTS slow replies all reach the model together."""
    count = SLOTS * 2
    fake_openai.script(*(Reply(text="slow " * 10, delay=0.1) for _ in range(count)))
    app = make_app(**fake_openai.app_config())
    client = app.test_client()
    doc = make_document(client)
    sessions = [make_session(client, doc) for _ in range(count)]
    answers: list[int] = []

    def send(session_id: str) -> None:
        answers.append(app.test_client().post(f"/api/sessions/{session_id}/messages",
                                              json={"content": "Go"}).status_code)

    threads = [threading.Thread(target=send, args=(s["id"],)) for s in sessions]
    started = time.monotonic()
    for t in threads:
        t.start()
    fake_openai.wait_for_chat(count, timeout=5)  # all asked before the first (1 s long) could finish
    assert time.monotonic() - started < 1.0
    for t in threads:
        t.join(20)
    assert answers == [201] * count


def test_a_socket_opens_once_a_slot_is_free(make_app, start_server):
    """A burst of sockets opening takes its turn at the gate like rounds do: the hello waits for a slot."""
    import contextlib
    import json

    from conftest import ws_events

    app = make_app()
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    gate = app.extensions["vice_ai"].engine.gate
    with contextlib.ExitStack() as slots:
        for _ in range(SLOTS):
            slots.enter_context(gate.held())
        ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session['id']}")
        ws.send(json.dumps({"type": "ping"}))
        assert ws.receive(0.5) is None  # no hello while every slot is taken
    events = ws_events(ws, lambda e: e["type"] == "pong")
    assert events[0]["type"] == "hello"
    ws.close()


def test_a_new_holder_lets_a_behind_reactor_catch_up_first():
    polls = iter([True, True, True, False])
    calls: list[float] = []

    def behind() -> bool:
        calls.append(time.monotonic())
        return next(polls, False)

    gate = Gate(1, behind=behind)
    with gate.held():
        pass
    assert len(calls) == 4  # waited while behind, went in as soon as it was not


def test_a_reactor_always_behind_delays_a_holder_only_a_little():
    gate = Gate(1, behind=lambda: True)
    started = time.monotonic()
    with gate.held():
        waited = time.monotonic() - started
    assert YIELD_SECONDS <= waited < YIELD_SECONDS + 0.5  # never starved: it goes in after YIELD_SECONDS
