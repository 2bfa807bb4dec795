"""Leases in one process: files (flock) and Redis (renewal, expiry, fencing of a reply's writes)."""
from __future__ import annotations

import threading
import time

import pytest
from conftest import make_document, make_session, model_config
from fake_openai import Reply

from vice_ai.coordination.file_leases import FileLeases
from vice_ai.coordination.leases import LeaseLost
from vice_ai.services import services


def test_a_file_lease_is_held_once_across_lease_tables_and_threads_and_its_file_goes_on_release(tmp_path):
    one, two = FileLeases(tmp_path / "leases"), FileLeases(tmp_path / "leases")  # as two processes: two flocks
    lease = one.acquire("session", "abc")
    assert lease is not None
    assert one.acquire("session", "abc") is None  # another thread of the same process
    assert two.acquire("session", "abc") is None  # another process
    assert two.acquire("session", "other") is not None
    lease.release()
    lease.release()  # idempotent
    assert not (tmp_path / "leases" / "session-abc.lease").exists()
    again = two.acquire("session", "abc")
    assert again is not None and one.acquire("session", "abc") is None
    two.close()  # releases what it holds
    assert one.acquire("session", "abc") is not None
    assert two.acquire("session", "new") is None  # closed


def test_many_threads_of_two_tables_never_hold_one_file_lease_at_once(tmp_path):
    tables = [FileLeases(tmp_path / "leases") for _ in range(2)]
    holders: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()

    def work(n: int) -> None:
        for _ in range(200):
            lease = tables[n % 2].acquire("stream", "x")
            if lease is None:
                continue
            with guard:
                holders.append(n)
                if len(holders) > 1:
                    overlaps.append(len(holders))
            time.sleep(0.0005)
            with guard:
                holders.remove(n)
            lease.release()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_lease_names_are_checked(tmp_path):
    with pytest.raises(ValueError):
        FileLeases(tmp_path).acquire("session", "../../etc/passwd")


def test_a_redis_lease_is_renewed_while_held_and_lost_when_another_takes_it_after_expiry(redis_url):
    from vice_ai.coordination.redis_leases import RedisLeases

    one, two = RedisLeases(redis_url, ttl=0.6), RedisLeases(redis_url, ttl=0.6)
    try:
        lease = one.acquire("session", "s1")
        assert lease is not None and lease.fence >= 1
        time.sleep(1.5)  # more than the TTL: the renewal keeps it
        assert two.acquire("session", "s1") is None
        lease.check()
        lost = threading.Event()
        lease.on_lost(lost.set)
        one.renew = lambda _lease: True  # type: ignore[method-assign]  # a paused process renews nothing
        time.sleep(1.0)
        taken = two.acquire("session", "s1")
        assert taken is not None and taken.fence > lease.fence
        with pytest.raises(LeaseLost):
            lease.check()
        assert lost.is_set()
        lease.release()  # compare-and-delete: the new holder's key stays
        assert one.redis.get("vice:lease:session:s1") == taken.token
        taken.release()
        assert one.redis.get("vice:lease:session:s1") is None
    finally:
        one.close()
        two.close()


def test_redis_orphans_are_the_leases_whose_holder_went_away(redis_url):
    from vice_ai.coordination.redis_leases import RedisLeases

    one, two = RedisLeases(redis_url, ttl=0.5), RedisLeases(redis_url, ttl=0.5)
    try:
        assert one.acquire("session", "dead") is not None
        assert one.acquire("session", "alive") is not None
        one._stop.set()  # the process stops renewing (as if killed)
        two_alive = two.acquire("session", "mine")
        assert two_alive is not None
        time.sleep(1.0)
        assert sorted(two.orphans("session")) == ["alive", "dead"]
        two.forget_orphan("session", "dead")
        assert two.orphans("session") == ["alive"]
    finally:
        two.close()


def test_a_generation_that_lost_its_redis_lease_stops_writing_and_keeps_what_the_new_holder_wrote(
        make_app, fake_openai, redis_url):
    """A process paused past its lease's TTL: the other marks the reply interrupted; the first writes nothing after."""
    config = model_config(fake_openai, REDIS_URL=redis_url, LEASE_TTL_SECONDS=0.8)
    first, second = make_app(**config), make_app(**config)
    client = first.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(text=" ".join(f"w{i}" for i in range(200)), delay=0.03))
    engine = services(first).engine
    rnd = engine.send_message(session["id"], "a long one")
    fake_openai.wait_for_chat(1)
    time.sleep(1.3)  # renewed past its TTL, a checkpoint on disk
    services(first).leases.renew = lambda _lease: True  # type: ignore[method-assign]  # paused: no renewal
    time.sleep(1.2)  # the key expires
    assert services(second).engine.recover(session["id"]) == 1  # the second process takes over
    marked = services(second).state.get_chat_session(session["id"])
    assert marked is not None
    [_, reply] = marked.messages
    assert reply.status == "interrupted" and reply.error["reason"] == "server_restart"
    assert rnd.wait(10)
    assert rnd.error is not None and rnd.error.code == "lease_lost"
    assert fake_openai.chat_requests[0].finished.wait(5)  # the model call was given up
    # Nothing the first process had in hand landed after the second's write.
    fresh = make_app(**config)
    final = services(fresh).state.get_chat_session(session["id"])
    assert final is not None
    [_, after] = final.messages
    assert (after.status, after.content, after.error) == (reply.status, reply.content, reply.error)
    assert len(after.content) < len(rnd.assistant_message.content)  # type: ignore[union-attr]
