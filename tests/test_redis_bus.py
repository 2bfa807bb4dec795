"""The Redis hub in one process: two hubs on one real Redis behave as one, and Redis down is a clear 503."""
from __future__ import annotations

import json
import threading
import time

import pytest
import simple_websocket
from app_process import free_port
from conftest import make_document, make_session
from hub_helpers import drain, drain_until
from ws_client import WSClient

from vice_ai import services
from vice_ai.accounts.identity import Credential
from vice_ai.live.redis_hub import RedisHub
from vice_ai.live.revocation import Revocation
from vice_ai.live.subscriber import QueueSubscriber


@pytest.fixture
def hubs(redis_url):
    made = [RedisHub(redis_url, buffer_size=100) for _ in range(2)]
    for hub in made:
        assert hub.bus.wait_connected(5)
    yield made
    for hub in made:
        hub.close_all({"type": "restarting"}, timeout=0.1)


def test_two_hubs_number_one_channel_without_gaps(hubs):
    a, b = hubs
    watcher = QueueSubscriber()
    assert a.subscribe("s1", "d1", watcher) == 0

    def publish(hub, n):
        for i in range(n):
            hub.publish("s1", "d1", {"type": "delta", "text": str(i)})

    threads = [threading.Thread(target=publish, args=(hub, 50)) for hub in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = drain_until(watcher, 100)
    # A socket that fell behind gets consecutive deltas merged: each covers first_seq..seq.
    covered = [n for e in events for n in range(e.get("first_seq", e["seq"]), e["seq"] + 1)]
    assert covered == list(range(1, 101))
    assert {e["epoch"] for e in events} == {a.epoch} == {b.epoch}
    replay, current = b.since("s1", 60)
    assert current == 100 and [e["seq"] for e in replay] == list(range(61, 101))
    text = "".join(e["text"] for e in events)
    assert text.endswith("".join(e["text"] for e in replay))
    late = QueueSubscriber()
    assert b.subscribe("s1", "d1", late) == 100  # a socket joining later starts after what it missed


def test_a_lost_message_is_filled_from_the_stream(hubs, redis_url):
    a, _ = hubs
    deaf = RedisHub(redis_url, buffer_size=100)
    deaf.bus.close()  # its listener stops: this test hands it the messages
    sub = QueueSubscriber()
    deaf.subscribe("s2", "d1", sub)
    for i in range(3):
        last = a.publish("s2", "d1", {"type": "delta", "text": str(i)})
    assert a.flush()
    deaf._on_event("s2", 3, last["epoch"], json.dumps({"type": "delta", "text": "2"}))
    assert [(e["seq"], e["text"]) for e in drain(sub, 3)] == [(1, "0"), (2, "1"), (3, "2")]


def test_notifications_and_revocations_reach_every_process_each_checking_its_own_sockets(hubs):
    a, b = hubs
    for hub in hubs:
        hub.set_access(lambda user, document_id: user == "reader")
    reader, stranger = QueueSubscriber(user="reader"), QueueSubscriber(user="stranger")
    a.subscribe("s3", "d3", reader)
    b.subscribe("s3", "d3", stranger)
    assert b.notify_document("d3", {"title": "Check", "message": "done"}) == 1
    assert drain(reader, 1)[0]["type"] == "notification"
    assert drain(stranger, 1, timeout=0.5) == []

    signed = QueueSubscriber(user="reader", credential=Credential("u1", 3, "sign-in-1"))
    b.subscribe("s4", "d3", signed)
    assert a.disconnect(Revocation("u1"), _signed_out()) == 0  # none here: B closes its own
    closing = drain(signed, 2)
    assert closing[0]["error"]["code"] == "unauthorized" and closing[1] is None

    gone = QueueSubscriber()
    b.subscribe("s5", "d3", gone)
    a.publish("s5", "d3", {"type": "delta", "text": "x"})
    a.drop_session("s5")
    assert [e["type"] for e in drain(gone, 2)] == ["delta", "deleted"]


def _signed_out():
    from vice_ai.errors import Unauthorized
    return Unauthorized("You were signed out.", retryable=False)


# ---- Redis down: clear errors, at once ----

def test_without_redis_the_app_says_so_and_answers_503(make_app, start_server):
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = make_app(REDIS_URL=down, AUTH="password", PASSWORD_METHOD="pbkdf2:sha256:1000")
    client = app.test_client()
    started = time.monotonic()
    health = client.get("/api/health").get_json()
    assert health["status"] == "degraded" and health["redis"] == "unreachable"
    signup = client.post("/api/auth/signup", json={"username": "alice", "password": "correct horse battery"})
    assert signup.status_code == 503  # the sign-in limits live in Redis
    error = signup.get_json()["error"]
    assert error["code"] == "unavailable" and error["retryable"] is True and "Redis" in error["message"]
    assert time.monotonic() - started < 10


def test_without_redis_a_socket_is_told_and_a_stop_is_503(make_app, start_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    server = start_server(app)
    client = app.test_client()
    session = make_session(client, make_document(client))
    stop = client.post(f"/api/sessions/{session['id']}/stop")
    assert stop.status_code == 503 and stop.get_json()["error"]["code"] == "unavailable"
    ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session['id']}")
    events = []
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            raw = ws.receive(5)
            assert raw is not None, "the socket hung"
            events.append(json.loads(raw))
    assert [e["type"] for e in events] == ["hello", "error"] and events[1]["error"]["code"] == "unavailable"
    assert services(app).hub.bus_state() == "unreachable"


class StuckSubscriber(QueueSubscriber):
    """A socket whose every event keeps the delivering thread until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    def put(self, event) -> None:
        self.inside.set()
        self.release.wait(5)
        super().put(event)


@pytest.mark.parametrize("delivered_by", ["publisher", "listener"])
def test_a_hub_is_behind_while_its_publisher_or_listener_is_kept_from_waiting(hubs, delivered_by):
    """What the engine's gate yields to with Redis: this process's own events reach its sockets through the
    publisher thread, the other processes' through the listener."""
    a, b = hubs
    watching = a if delivered_by == "publisher" else b
    stuck = StuckSubscriber()
    watching.subscribe("s1", "d1", stuck)
    assert not watching.behind()
    a.publish("s1", "d1", {"type": "delta", "text": "one"})
    assert stuck.inside.wait(5)
    time.sleep(0.02)
    assert watching.behind()
    stuck.release.set()
    assert drain(stuck, 1)[0]["text"] == "one"
    time.sleep(0.05)
    assert not watching.behind()
