"""Several `run.py` processes on one data folder, with file leases (no Redis) and with Redis leases.

One generation per chat across processes (`busy` from any of them), replies never lost, overwritten or
interleaved, recovery only of replies no live process writes, notification streams run once and taken over.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import processes
import pytest
from app_process import AppProcess
from fake_openai import FakeOpenAI, Reply
from processes import env_for, wait_for
from ws_client import WSClient

from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store

make_app_for_streams = processes.make_app_for_streams  # a shared fixture, here too

SLOW = Reply(text="one two three four five six seven eight nine ten eleven twelve. " * 2, delay=0.02)
SLOW_TEXT = SLOW.text


@pytest.fixture(params=["files", "redis"])
def mode_env(request) -> dict[str, str]:
    """The environment that picks the lease implementation (Redis: our own redis-server)."""
    if request.param == "redis":
        return {"VICE_AI_REDIS_URL": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture
def two(tmp_path, fake_openai, mode_env) -> Iterator[tuple[AppProcess, AppProcess, str]]:
    """Processes A and B on one data folder; a chat made on A."""
    data = tmp_path / "data"
    data.mkdir()
    with ExitStack() as stack:
        a = stack.enter_context(AppProcess(str(data), env_for(fake_openai, mode_env)))
        b = stack.enter_context(AppProcess(str(data), env_for(fake_openai, mode_env)))
        session = new_session(a)
        yield a, b, session


def new_session(app: AppProcess) -> str:
    status, doc = app.request("POST", "/api/documents", {"title": "Shared", "sections": [
        {"title": "Summary", "content": "We ask for funding."}]})
    assert status == 201, doc
    section = doc["sections"][0]["id"]
    status, session = app.request("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {})
    assert status == 201, session
    return str(session["id"])


def messages(app: AppProcess, session_id: str) -> list[dict[str, Any]]:
    status, data = app.request("GET", f"/api/sessions/{session_id}")
    assert status == 200, data
    return list(data["messages"])


def test_two_processes_hammering_one_chat_never_lose_overwrite_or_interleave_a_reply(two, fake_openai):
    a, b, session = two
    fake_openai.default = SLOW
    sent: list[tuple[str, dict[str, Any]]] = []  # (content, answer) of each 201
    busy: list[dict[str, Any]] = []
    seen_bad: list[dict[str, Any]] = []
    failures: list[str] = []
    done = threading.Event()
    guard = threading.Lock()

    def sender(n: int) -> None:
        rng = random.Random(n)
        ok, attempt, deadline = 0, 0, time.monotonic() + 90
        while ok < 3 and time.monotonic() < deadline:
            attempt += 1
            app = (a, b)[(n + attempt) % 2]
            content = f"message {n}-{attempt}"
            status, body = app.request("POST", f"/api/sessions/{session}/messages", {"content": content}, timeout=60)
            with guard:
                if status == 201:
                    sent.append((content, body))
                    ok += 1
                elif status == 409:
                    busy.append(body)
                else:
                    failures.append(f"{status} {body}")
            time.sleep(rng.uniform(0, 0.2))

    def reader(app: AppProcess) -> None:
        while not done.is_set():
            status, data = app.request("GET", f"/api/sessions/{session}")
            if status != 200:
                failures.append(f"GET {status} {data}")
                continue
            # A reply another process is writing is shown as it is, never taken for one a dead process left.
            seen_bad.extend(m for m in data["messages"] if m["status"] in ("interrupted", "error"))

    readers = [threading.Thread(target=reader, args=(app,)) for app in (a, b)]
    senders = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in [*readers, *senders]:
        t.start()
    for t in senders:
        t.join(120)
    done.set()
    for t in readers:
        t.join(30)

    assert failures == []
    assert seen_bad == []
    assert len(sent) == 12
    assert busy and all(body["error"]["code"] == "busy" for body in busy)
    history = messages(a, session)
    assert history == messages(b, session)
    by_id = {m["id"]: m for m in history}
    # One linear chain: each message follows the one before it, questions and answers in turn.
    for before, after in zip(history, history[1:], strict=False):
        assert after["parent_id"] == before["id"]
        assert {before["role"], after["role"]} == {"user", "assistant"}
    assert sorted(m["content"] for m in history if m["role"] == "user") == sorted(c for c, _ in sent)
    for content, answer in sent:
        reply = by_id[answer["assistant_message"]["id"]]
        assert reply["parent_id"] == answer["user_message"]["id"]
        assert by_id[reply["parent_id"]]["content"] == content
        assert reply["status"] == "complete" and reply["content"] == SLOW_TEXT
    assert len(history) == 24  # no message of a busy send was written


def test_a_send_on_one_process_while_the_other_streams_is_busy(two, fake_openai):
    a, b, session = two
    fake_openai.script(Reply(text=" ".join(f"w{i}" for i in range(40)), delay=0.05))
    answer: dict[str, Any] = {}
    sending = threading.Thread(target=lambda: answer.update(
        r=a.request("POST", f"/api/sessions/{session}/messages", {"content": "long one"}, timeout=60)))
    sending.start()
    fake_openai.wait_for_chat(1)
    wait_for(lambda: any(m["status"] == "streaming" for m in messages(b, session)), 10, "the reply on B")

    status, body = b.request("POST", f"/api/sessions/{session}/messages", {"content": "me too"})
    assert status == 409 and body["error"]["code"] == "busy"
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    status, data = b.request("GET", f"/api/sessions/{session}")
    assert data["generating"] is True  # streaming elsewhere: shown as it is
    assert [m["status"] for m in data["messages"]] == ["complete", "streaming"]
    sending.join(60)
    status, body = answer["r"]
    assert status == 201 and body["assistant_message"]["status"] == "complete"
    assert [m["status"] for m in messages(b, session)] == ["complete", "complete"]
    status, _ = b.request("POST", f"/api/sessions/{session}/messages", {"content": "now me"})
    assert status == 201


def _kill_mid_reply(a: AppProcess, b: AppProcess, session: str, fake: FakeOpenAI) -> str:
    """Start a long reply on A, wait until B sees it streaming, SIGKILL A; the reply's id."""
    fake.script(Reply(text=" ".join(f"w{i}" for i in range(200)), delay=0.05))

    def send() -> None:
        try:
            a.request("POST", f"/api/sessions/{session}/messages", {"content": "go"}, timeout=60)
        except OSError:
            pass  # the process is killed under it

    threading.Thread(target=send, daemon=True).start()
    fake.wait_for_chat(1)
    reply = wait_for(lambda: next((m for m in messages(b, session) if m["role"] == "assistant"
                                   and m["status"] == "streaming" and m["content"]), None), 10, "a checkpoint")
    a.kill()
    return str(reply["id"])


def test_a_reply_of_a_killed_process_is_marked_interrupted_by_the_other_on_read(tmp_path, fake_openai):
    data = tmp_path / "data"
    data.mkdir()
    with AppProcess(str(data), env_for(fake_openai)) as a, AppProcess(str(data), env_for(fake_openai)) as b:
        session = new_session(a)
        reply_id = _kill_mid_reply(a, b, session, fake_openai)
        [_, reply] = messages(b, session)
        assert reply["id"] == reply_id and reply["status"] == "interrupted"
        assert reply["error"]["reason"] == "server_restart" and reply["content"]
        fake_openai.default = Reply(text="Back again.")
        status, body = b.request("POST", f"/api/sessions/{session}/messages", {"content": "again"})
        assert status == 201 and body["assistant_message"]["content"] == "Back again."


def test_with_redis_a_killed_process_reply_is_interrupted_by_the_other_without_any_read(
        tmp_path, fake_openai, redis_url):

    data = tmp_path / "data"
    data.mkdir()
    env = env_for(fake_openai, {"VICE_AI_REDIS_URL": redis_url})
    with AppProcess(str(data), env) as a, AppProcess(str(data), env) as b:
        session = new_session(a)
        ws = WSClient.connect(f"{b.ws_url}/ws/sessions/{session}")
        try:
            reply_id = _kill_mid_reply(a, b, session, fake_openai)
            killed = time.monotonic()
            # Told to the tab on B by B's sweep, with no request to B at all.
            deadline = killed + 30
            told = None
            while told is None and time.monotonic() < deadline:
                raw = ws.receive(timeout=1)
                event = json.loads(raw) if raw else {}
                if event.get("type") == "error" and (event.get("message") or {}).get("id") == reply_id:
                    told = event
            assert told is not None, "no event within 30 s"
            assert told["message"]["status"] == "interrupted"
            assert told["error"]["reason"] == "server_restart"
            assert time.monotonic() - killed < 30
        finally:
            ws.close()
        on_disk = AppState(Store(str(data))).peek_session(session)
        assert on_disk is not None
        assert [m.status for m in on_disk.messages] == ["complete", "interrupted"]


def test_a_notification_stream_runs_once_across_processes_and_is_taken_over_when_its_holder_dies(
        data_dir, mode_env, make_app_for_streams):
    data = data_dir
    session, stream_id = make_app_for_streams(data)
    fakes = [FakeOpenAI().start(), FakeOpenAI().start()]
    try:
        for fake in fakes:
            fake.default = Reply(text="nothing new")
        a = AppProcess(str(data), env_for(fakes[0], mode_env))
        b = AppProcess(str(data), env_for(fakes[1], mode_env))
        try:
            wait_for(lambda: sum(len(f.chat_requests) for f in fakes) >= 6, 20, "stream checks")
            counts = [len(f.chat_requests) for f in fakes]
            assert min(counts) == 0, counts  # all in one process
            holder, other = (a, b) if counts[0] else (b, a)
            other_fake = fakes[1] if counts[0] else fakes[0]
            holder.kill()
            # The other takes it over: file leases at once (then its next look), Redis after the TTL.
            wait_for(lambda: len(other_fake.chat_requests) >= 3, 30, "the takeover")
            # Stopped from a process: it stops for good.
            status, _ = other.request("DELETE", f"/api/sessions/{session}/streams/{stream_id}")
            assert status == 200
            time.sleep(1.0)
            seen = len(other_fake.chat_requests)
            time.sleep(1.5)
            assert len(other_fake.chat_requests) == seen
        finally:
            a.stop()
            b.stop()
    finally:
        for fake in fakes:
            fake.close()


def test_delete_of_a_stream_running_in_the_other_process_stops_it_there(data_dir, mode_env, make_app_for_streams):
    data = data_dir
    session, stream_id = make_app_for_streams(data)
    fakes = [FakeOpenAI().start(), FakeOpenAI().start()]
    try:
        for fake in fakes:
            fake.default = Reply(text="nothing new")
        with AppProcess(str(data), env_for(fakes[0], mode_env)) as a, \
                AppProcess(str(data), env_for(fakes[1], mode_env)) as b:
            wait_for(lambda: sum(len(f.chat_requests) for f in fakes) >= 3, 20, "stream checks")
            holder_fake = fakes[0] if fakes[0].chat_requests else fakes[1]
            other = b if holder_fake is fakes[0] else a
            status, body = other.request("DELETE", f"/api/sessions/{session}/streams/{stream_id}")
            assert status == 200, body
            time.sleep(1.0)  # a check already under way may end
            seen = len(holder_fake.chat_requests)
            time.sleep(1.5)
            assert len(holder_fake.chat_requests) == seen
            status, body = a.request("GET", f"/api/sessions/{session}/streams")
            assert [s["status"] for s in body["streams"]] == ["stopped"]
            status, body = other.request("DELETE", f"/api/sessions/{session}/streams/{stream_id}")
            assert status == 404
    finally:
        for fake in fakes:
            fake.close()
