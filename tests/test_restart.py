"""Stopping and restarting the server: nothing acknowledged is lost, no tab misses an event, no leftovers.

- SIGTERM (systemd, docker stop) and SIGINT stop `run.py` and gunicorn the same
  way: running replies saved as `interrupted` (reason `server_restart`: the user did not
  stop them, and they can be continued), open sockets told `restarting`, exit 0.
- A tab open before a restart resumes with its epoch and gets `sync`: its seq
  counted events of a run that is gone.
- Replies a dead process left `streaming` are marked `interrupted` at start,
  whether or not anyone opens the chat.
- A crash between the two writes of creating or deleting a chat leaves nothing
  that shows up anywhere; start-up removes what is left.

Everything runs for real: `run.py` and gunicorn as subprocesses, websocket
clients, the fake model server, files in a data folder.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import FAKE_KEY, connect_ws, make_document, make_session, ws_events
from fake_openai import Reply
from ws_client import WSClient

from vice_ai.chat import recovery
from vice_ai.domain.models import ChatSession, Message
from vice_ai.domain.state import AppState
from vice_ai.services import services
from vice_ai.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
WORDS = [f"word{i} " for i in range(400)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")


def server_env(data_dir: str, fake_openai: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "VICE_AI_"))}
    env.update(VICE_AI_DATA_DIR=data_dir, OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY=FAKE_KEY,
               VICE_AI_MODEL="fake-small", VICE_AI_AUTH="local", PYTHONUNBUFFERED="1")
    return env


COMMANDS = {
    "run.py": lambda port: [sys.executable, str(ROOT / "run.py"), "--port", str(port)],
    "gunicorn": lambda port: [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "vice_ai" / "gunicorn_conf.py"),
                              "-w", "1", "-k", "gthread", "--threads", "16", "-b", f"127.0.0.1:{port}",
                              "vice_ai:create_app()"],
}


@pytest.mark.parametrize("server, signum", [
    ("run.py", signal.SIGTERM), ("run.py", signal.SIGINT), ("gunicorn", signal.SIGTERM),
    ("gunicorn", signal.SIGINT),
])
def test_a_stop_signal_keeps_the_running_reply_to_continue_tells_the_tabs_and_exits_0(
        server, signum, make_app, fake_openai, data_dir):
    client = make_app(**fake_openai.app_config()).test_client()
    session = make_session(client, make_document(client))
    port = free_port()
    proc = subprocess.Popen(COMMANDS[server](port), cwd=ROOT, env=server_env(data_dir, fake_openai),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(port, proc)
        fake_openai.script(Reply(tokens=WORDS, delay=0.05))  # 20 s of reply: only the stop can end it soon
        ws = connect_ws(SimpleNamespace(ws_url=f"ws://127.0.0.1:{port}"), session["id"])
        ws.send(json.dumps({"type": "send", "content": "Write a long answer"}))
        events = ws_events(ws, lambda e: e["type"] == "delta" and e["text"] == "word5 ")
        started = time.monotonic()
        proc.send_signal(signum)
        events += ws_events(ws, lambda e: e["type"] == "restarting")
        try:
            assert proc.wait(10) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(proc.stderr.read()) from None
        assert time.monotonic() - started < 8
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
    kinds = [e["type"] for e in events]
    assert "error" in kinds and kinds.index("error") < kinds.index("restarting"), kinds
    assert "stopped" not in kinds  # the user did not stop it
    assert events[-1]["local"] is True and "restarting" in events[-1]["message"]
    told = next(e for e in events if e["type"] == "error")
    assert told["error"]["reason"] == "server_restart" and "server stopped" in told["error"]["message"]
    streamed = "".join(e["text"] for e in events if e["type"] == "delta")
    assert told["message"]["content"] == streamed and told["message"]["status"] == "interrupted"
    restarted = make_app(**fake_openai.app_config()).test_client()
    reply = restarted.get(f"/api/sessions/{session['id']}").get_json()["messages"][-1]
    assert (reply["status"], reply["content"]) == ("interrupted", streamed)
    assert reply["error"]["reason"] == "server_restart" and reply["error"]["retryable"] is True
    assert streamed.startswith("word0 word1 word2 word3 word4 word5 ")
    # After the restart the reply goes on where it was cut.
    fake_openai.script(Reply(text=" and the rest."))
    resp = restarted.post(f"/api/sessions/{session['id']}/continue")
    assert resp.status_code in (200, 201), resp.get_json()
    reply = restarted.get(f"/api/sessions/{session['id']}").get_json()["messages"][-1]
    assert (reply["status"], reply["content"]) == ("complete", streamed + " and the rest.")


# ---- resuming across a restart ----

def test_a_tab_from_before_a_restart_gets_sync_not_the_new_runs_tail(make_app, fake_openai, start_server):
    first = make_app(**fake_openai.app_config())
    client = first.test_client()
    session = make_session(client, make_document(client))
    server = start_server(first)
    ws = connect_ws(server, session["id"])
    fake_openai.script(Reply(text="One two three four five."))
    ws.send(json.dumps({"type": "send", "content": "First question"}))
    events = ws_events(ws, lambda e: e["type"] == "done")
    last = events[-1]
    old_seq, old_epoch = last["seq"], last["epoch"]
    assert all(e["epoch"] == old_epoch for e in events if "seq" in e and not e.get("local"))
    ws.close()
    server.stop()

    # The new run: more events on the session than the tab saw, before the tab comes back.
    second = make_app(**fake_openai.app_config())
    server = start_server(second)
    fake_openai.script(Reply(text="Six seven eight nine ten eleven twelve."), Reply(text="Thirteen fourteen."))
    for question in ("Second question", "Third question"):
        resp = second.test_client().post(f"/api/sessions/{session['id']}/messages", json={"content": question})
        assert resp.status_code == 201, resp.get_json()
    ws = connect_ws(server, session["id"])
    ws.send(json.dumps({"type": "ping"}))  # the hello is read by connect_ws; check the epoch on a fresh one
    tab = connect_ws(server, session["id"])
    tab.send(json.dumps({"type": "resume", "after": old_seq, "epoch": old_epoch}))
    answer = ws_events(tab, lambda e: e["type"] in ("sync", "error") or e.get("seq", 0) > old_seq)[-1]
    assert answer["type"] == "sync", answer
    assert answer["epoch"] != old_epoch and answer["seq"] > old_seq
    contents = [m["content"] for m in answer["session"]["messages"]]
    assert contents == ["First question", "One two three four five.", "Second question",
                        "Six seven eight nine ten eleven twelve.", "Third question", "Thirteen fourteen."]

    # The same run's epoch still resumes by replay.
    tab.send(json.dumps({"type": "resume", "after": 0, "epoch": answer["epoch"]}))
    replayed = ws_events(tab, lambda e: e["type"] == "done" and e["message"]["content"] == "Thirteen fourteen.")
    assert replayed[0]["seq"] == 1 and all(e["epoch"] == answer["epoch"] for e in replayed)
    tab.close()
    ws.close()


def test_hello_carries_the_epoch_of_the_run(make_app, start_server):

    apps = [make_app(), make_app()]
    client = apps[0].test_client()
    session = make_session(client, make_document(client))
    epochs = []
    for app in apps:
        server = start_server(app)
        ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session['id']}")
        ws.send(json.dumps({"type": "ping"}))
        hello = ws_events(ws, lambda e: e["type"] == "pong")[0]
        assert hello["type"] == "hello"
        epochs.append(hello["epoch"])
        ws.close()
    assert epochs[0] != epochs[1] and all(len(e) >= 16 for e in epochs)


# ---- what a crash leaves on disk, put right at start ----

def wait_for(check, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_reply_left_streaming_is_interrupted_at_start_without_opening_the_chat(make_app, data_dir):
    client = make_app().test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    # What a process that died mid-reply leaves: the question, and a reply checkpointed while streaming.
    state = AppState(Store(data_dir))
    question = state.append_message(session["id"], Message(role="user", content="Tell me more"))
    state.append_message(session["id"], Message(role="assistant", content="Half of", parent_id=question.id,
                                                status="streaming"))

    admin = make_app().test_client()  # local mode's one user is an admin (stats)

    def exported() -> dict[str, Any] | None:
        data = admin.get(f"/api/documents/{doc['id']}/export?format=json").get_json()
        messages = [m for s in data["sessions"] for m in s["messages"]]
        return data if messages[-1]["status"] == "interrupted" else None

    data = wait_for(exported)
    assert data, "the reply is still streaming in the export"
    reply = data["sessions"][0]["messages"][-1]
    assert reply["content"] == "Half of" and reply["error"]["reason"] == "server_restart"
    # Read from disk by a third process-like reader: the change is stored, not just in memory.
    stored = AppState(Store(data_dir)).get_chat_session(session["id"])
    assert [m.status for m in stored.messages] == ["complete", "interrupted"]
    stats = admin.get("/api/stats").get_json()
    assert stats["sessions"] == 1 and stats["models"]


@pytest.mark.parametrize("door", ["read", "send"])
def test_a_request_during_the_start_up_recovery_of_its_chat_waits_for_it(make_app, data_dir, fake_openai, monkeypatch,
                                                                          door):
    """Right after a restart the start-up pass holds the chat's lease while it marks a dead process's reply:
    a read then must not show that reply as still streaming, nor a send be refused as busy."""
    first = make_app()
    assert services(first).repairer.finished.wait(10)  # its own pass is over: the reply below is not its business
    client = first.test_client()
    session = make_session(client, make_document(client))
    state = AppState(Store(data_dir))
    question = state.append_message(session["id"], Message(role="user", content="Tell me more"))
    state.append_message(session["id"], Message(role="assistant", content="Half of", parent_id=question.id,
                                                status="streaming"))
    # The pass is slowed down while it holds the lease, so the request comes in the middle of it.
    marking, mark = threading.Event(), recovery.mark_interrupted

    def slow_mark(*args: Any) -> int:
        marking.set()
        time.sleep(0.5)
        return mark(*args)

    monkeypatch.setattr(recovery, "mark_interrupted", slow_mark)
    restarted = make_app(**fake_openai.app_config()).test_client()
    assert marking.wait(10)
    if door == "send":
        fake_openai.script(Reply(text="A fresh answer."))
        resp = restarted.post(f"/api/sessions/{session['id']}/messages", json={"content": "Go on"})
        assert resp.status_code == 201, resp.get_json()
    data = restarted.get(f"/api/sessions/{session['id']}").get_json()
    statuses = [(m["role"], m["status"]) for m in data["messages"]]
    assert statuses[:2] == [("user", "complete"), ("assistant", "interrupted")]
    assert statuses[2:] == ([("user", "complete"), ("assistant", "complete")] if door == "send" else [])
    assert data["messages"][1]["content"] == "Half of" and data["generating"] is False


def orphan_files(data_dir: str, doc: dict[str, Any]) -> tuple[str, str]:
    """The two crash leftovers: a session file no section lists, and a listed id with no file."""
    state = AppState(Store(data_dir))
    section = doc["sections"][0]
    # Creating a chat: the session file written, then the crash before its document listed it.
    unlisted = ChatSession("0b7a1c52-6d1e-4c0f-9a57-3f1e2d4c5b6a", doc["id"], section["id"], title="Unlisted")
    state.store.write_snapshot("sessions", unlisted.id, unlisted.to_dict())
    # Creating a chat the new way (or deleting one): listed, then the crash before the file was written.
    missing = "5d3c2b1a-0f9e-4d8c-b7a6-112233445566"
    with state.edit_document(doc["id"]) as edited:
        edited.sections[1].session_ids.append(missing)
    return unlisted.id, missing


def test_crash_leftovers_are_absent_on_read_and_removed_at_start(make_app, data_dir):
    client = make_app().test_client()
    doc = make_document(client)
    kept = make_session(client, doc)
    unlisted, missing = orphan_files(data_dir, doc)

    # This process never restarted: the next read already treats both as absent.
    assert client.get(f"/api/sessions/{unlisted}").status_code == 404
    assert client.get(f"/api/sessions/{missing}").status_code == 404
    assert client.get("/api/stats").get_json()["sessions"] == 1

    admin = make_app().test_client()
    store = Store(data_dir)
    assert wait_for(lambda: not store.exists("sessions", unlisted)), "the unlisted session file is still there"

    def listed_ids() -> list[str]:
        return [sid for s in admin.get(f"/api/documents/{doc['id']}").get_json()["sections"]
                for sid in s["session_ids"]]

    assert wait_for(lambda: missing not in listed_ids()), "the document still lists a chat with no file"
    assert listed_ids() == [kept["id"]]
    assert admin.get(f"/api/sessions/{unlisted}").status_code == 404
    assert admin.get(f"/api/sessions/{kept['id']}").status_code == 200
    assert admin.get("/api/stats").get_json()["sessions"] == 1
    exported = admin.get(f"/api/documents/{doc['id']}/export?format=json").get_json()
    assert [s["id"] for s in exported["sessions"]] == [kept["id"]]

