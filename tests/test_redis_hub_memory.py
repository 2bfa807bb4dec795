"""The Redis hub's memory is bounded: nothing kept per chat ever seen, here or in Redis; freed channels resume."""
from __future__ import annotations

import gc
import time

import pytest
from hub_helpers import drain, drain_until

from vice_ai.errors import Unauthorized
from vice_ai.live import redis_hub
from vice_ai.live.redis_hub import RedisHub, watch_key
from vice_ai.live.revocation import Revocation
from vice_ai.live.subscriber import QueueSubscriber


@pytest.fixture
def make_hub(redis_url):
    made: list[RedisHub] = []

    def _make(**kwargs) -> RedisHub:
        hub = RedisHub(redis_url, buffer_size=100, **kwargs)
        assert hub.bus.wait_connected(5)
        made.append(hub)
        return hub

    yield _make
    for hub in made:
        hub.close_all({"type": "restarting"}, timeout=0.1)


def local_tables(hub: RedisHub) -> tuple[int, int, int]:
    gc.collect()
    return hub.channels(), len(hub._delivered), len(hub._starts)


def test_channels_and_their_tables_go_with_their_sockets_and_resume_from_redis(make_hub):
    hub = make_hub(grace=0)
    other = make_hub()
    for n in range(300):  # many chats opened once, each with a reply, then closed
        sub = QueueSubscriber()
        hub.subscribe(f"c{n}", "d1", sub)
        other.publish(f"c{n}", "d1", {"type": "delta", "text": "x"})
        assert drain(sub, 1)[0]["seq"] == 1
        hub.unsubscribe(f"c{n}", sub)
    assert local_tables(hub) == (0, 0, 0)

    # A freed channel resumes from the Stream and numbers on from Redis's seq.
    for text in "yz":
        other.publish("c7", "d1", {"type": "delta", "text": text})
    assert other.flush()
    replay, current = hub.since("c7", 1)
    assert current == 3 and [(e["seq"], e["text"]) for e in replay] == [(2, "y"), (3, "z")]
    back = QueueSubscriber()
    assert hub.subscribe("c7", "d1", back) == 3
    other.publish("c7", "d1", {"type": "delta", "text": "w"})
    assert [(e["seq"], e["text"]) for e in drain(back, 1)] == [(4, "w")]
    hub.unsubscribe("c7", back)
    assert local_tables(hub) == (0, 0, 0)


def test_sockets_closed_by_a_sign_out_or_a_deleted_chat_leave_nothing_behind(make_hub):
    hub = make_hub(grace=0)
    other = make_hub()
    signed = [QueueSubscriber(user="u") for _ in range(3)]
    for n, sub in enumerate(signed):
        hub.subscribe(f"s{n}", "d1", sub)
    from vice_ai.accounts.identity import Credential
    for sub in signed:
        sub.credential = Credential("u1", 1, "sign-in")
    assert hub.disconnect(Revocation("u1"), Unauthorized("You were signed out.")) == 3
    del sub, signed
    assert local_tables(hub)[1:] == (0, 0)  # their channels' entries went with them
    for n in range(3):  # and events that still come find nothing to keep
        other.publish(f"s{n}", "d1", {"type": "delta", "text": "x"})
    assert other.flush()
    time.sleep(0.2)
    assert local_tables(hub)[1:] == (0, 0)

    gone = QueueSubscriber()
    hub.subscribe("s9", "d1", gone)
    other.publish("s9", "d1", {"type": "delta", "text": "x"})
    other.drop_session("s9")
    assert [e["type"] for e in drain_until(gone, 2)] == ["delta", "deleted"]
    del gone
    assert local_tables(hub) == (0, 0, 0)


def test_the_watch_set_keeps_only_recently_watched_chats(make_hub, monkeypatch):
    monkeypatch.setattr(redis_hub, "WATCH_SECONDS", 0.5)
    hub = make_hub(grace=0)
    for n in range(20):
        sub = QueueSubscriber()
        hub.subscribe(f"w{n}", "d5", sub)
        hub.unsubscribe(f"w{n}", sub)
    time.sleep(0.7)
    keep = QueueSubscriber()
    hub.subscribe("w-now", "d5", keep)
    assert hub.notify_document("d5", {"title": "Check", "message": "done"}) == 1  # only the chat watched now
    assert drain(keep, 1)[0]["type"] == "notification"
    client = hub.bus.client
    assert client.zrange(watch_key("d5"), 0, -1) == ["w-now"]
    assert 0 < client.ttl(watch_key("d5")) <= 61
