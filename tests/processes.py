"""Helpers and fixtures the several-process tests share (test_leases_processes, test_redis_processes,
test_redis_state): environments for `AppProcess`, requests and websockets to a process, waiting.

A test module takes a fixture from here by naming it: `pair = processes.pair`.
"""
from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest
from app_process import AppProcess
from conftest import ws_events
from fake_openai import FAKE_KEY, FakeOpenAI, Reply
from ws_client import WSClient


def env_for(fake: FakeOpenAI, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A process's environment that talks to the fake model server `fake` (plus `extra`)."""
    return {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": FAKE_KEY, "VICE_AI_MODEL": fake.models[0],
            **(extra or {})}


def wait_for(check, timeout: float = 10.0, what: str = "the condition", poll: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def make_app_for_streams(make_app, fake_openai):
    """A chat with a running notification stream (interval 0.3 s) on a data folder, left for processes to run."""
    from vice_ai import shutdown
    from vice_ai.services import services
    from vice_ai.tools import ToolContext

    def _make(data_dir: str) -> tuple[str, str]:
        app = make_app(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY=FAKE_KEY,
                       STREAM_MIN_INTERVAL=0.01)
        client = app.test_client()
        doc = client.post("/api/documents", json={"title": "D", "sections": [{"title": "S", "content": "x"}]})
        doc_data = doc.get_json()
        section = doc_data["sections"][0]["id"]
        session = client.post(f"/api/documents/{doc_data['id']}/sections/{section}/sessions", json={}).get_json()
        ctx = ToolContext(session["id"], doc_data["id"], section, services(app).state, streams=services(app).streams)
        fake_openai.default = Reply(text="nothing new")
        record = services(app).streams.start(ctx, "watch it", 0.3)
        shutdown(app)  # a shutdown is not a stop: the stream stays listed as running
        return str(session["id"]), str(record["id"])

    return _make


def is_final(event: dict) -> bool:
    return event["type"] in ("done", "error", "stopped")


@pytest.fixture
def pair(tmp_path, redis_url, fake_openai):
    """Start two processes on one folder and one Redis; `pair(**env)` -> (a, b)."""
    started: list[AppProcess] = []

    def _start(**extra: str) -> tuple[AppProcess, AppProcess]:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        for _ in range(2):
            started.append(AppProcess(str(data), env=env_for(fake_openai, {"VICE_AI_REDIS_URL": redis_url, **extra})))
        return started[-2], started[-1]

    yield _start
    for proc in started:
        proc.stop()


def call(proc: AppProcess, method: str, path: str, body=None, cookie: str | None = None):
    """(status, JSON, the session cookie it set or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=30)
    headers = {"X-Vice-CSRF": "1", **({"Cookie": cookie} if cookie else {})}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    set_cookie = resp.getheader("Set-Cookie")
    conn.close()
    return resp.status, (json.loads(raw) if raw else None), (set_cookie.split(";")[0] if set_cookie else None)


def open_ws(proc: AppProcess, path: str, cookie: str | None = None):
    ws = WSClient.connect(proc.ws_url + path, headers={"Cookie": cookie} if cookie else None)
    ws.send(json.dumps({"type": "ping"}))
    events = ws_events(ws, lambda e: e["type"] == "pong")
    assert events[0]["type"] == "hello", events
    return ws, events[0]


def new_chat(proc: AppProcess, cookie: str | None = None) -> tuple[dict, dict]:
    status, doc, _ = call(proc, "POST", "/api/documents", {"title": "Plan", "sections": [
        {"title": "Summary", "content": "The budget is 40,000 euros."}]}, cookie)
    assert status == 201, doc
    section = doc["sections"][0]["id"]
    status, session, _ = call(proc, "POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {}, cookie)
    assert status == 201, session
    return doc, session
