"""Two real app processes (`run.py`) on one data folder and one real Redis: one app.

A tab on A sees the reply B generates, resuming on B after a seq seen on A
loses and repeats nothing, `stop` on A stops B's generation, a rate limit holds
across both, and revoking a share (or signing out everywhere) closes the
sockets on both at once.
"""
from __future__ import annotations

import json
import time

import processes
import pytest
import simple_websocket
from app_process import AppProcess
from auth_helpers import PASSWORD
from conftest import ws_events
from fake_openai import Reply
from processes import call, is_final, new_chat, open_ws

pair = processes.pair  # a shared fixture, here too


def closed_with(ws, code: str, timeout: float = 5.0) -> None:
    """The socket gets an error event `code`, then closes, within `timeout`."""
    events = ws_events(ws, lambda e: e["type"] == "error", timeout=timeout)
    assert events[-1]["error"]["code"] == code, events[-1]
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            ws.receive(timeout)


def test_a_tab_on_a_sees_the_reply_b_generates_and_resumes_on_b(pair, fake_openai):
    a, b = pair()
    fake_openai.script(Reply(text="one two three four five six seven eight", delay=0.03),
                       Reply(text="alpha beta gamma delta epsilon zeta eta theta iota kappa", delay=0.1))
    _, session = new_chat(a)
    path = f"/ws/sessions/{session['id']}"
    on_a, hello_a = open_ws(a, path)
    on_b, hello_b = open_ws(b, path)
    assert hello_a["epoch"] == hello_b["epoch"] and hello_a["seq"] == hello_b["seq"] == 0
    on_b.send(json.dumps({"type": "send", "content": "Count, please."}))
    seen_a, seen_b = ws_events(on_a, is_final), ws_events(on_b, is_final)
    assert seen_a == seen_b
    assert [e["seq"] for e in seen_a] == list(range(1, len(seen_a) + 1))
    assert seen_a[-1]["type"] == "done"
    assert "".join(e["text"] for e in seen_a if e["type"] == "delta") == seen_a[-1]["message"]["content"]

    # A second reply: the tab on A goes away mid-reply and comes back on B.
    on_b.send(json.dumps({"type": "send", "content": "Greek letters?"}))
    before = ws_events(on_a, lambda e: e["type"] == "delta" and len(e["text"]) > 0)
    on_a.close()
    later, _ = open_ws(b, path)
    last = before[-1]
    later.send(json.dumps({"type": "resume", "after": last["seq"], "epoch": last["epoch"]}))
    rest = ws_events(later, is_final)
    whole = seen_a + before + rest
    assert [e["seq"] for e in whole] == list(range(1, len(whole) + 1))  # nothing lost, nothing twice
    assert rest[-1]["type"] == "done"
    assert ("".join(e["text"] for e in before + rest if e["type"] == "delta")
            == rest[-1]["message"]["content"])
    # A resume from before what the Stream keeps is a `sync` with the saved chat, on either process.
    status, stored, _ = call(a, "GET", f"/api/sessions/{session['id']}")
    assert status == 200 and [m["status"] for m in stored["messages"]] == ["complete"] * 4
    later.send(json.dumps({"type": "resume", "after": 10_000, "epoch": last["epoch"]}))
    sync = ws_events(later, lambda e: e["type"] == "sync")[-1]
    assert sync["seq"] == whole[-1]["seq"] and len(sync["session"]["messages"]) == 4
    later.close(), on_b.close()


def test_stop_on_a_stops_the_generation_running_on_b(pair, fake_openai):
    a, b = pair()
    fake_openai.script(Reply(text=" ".join(f"w{i}" for i in range(200)), delay=0.05))
    _, session = new_chat(a)
    path = f"/ws/sessions/{session['id']}"
    on_a, _ = open_ws(a, path)
    on_b, _ = open_ws(b, path)
    on_b.send(json.dumps({"type": "send", "content": "Go on and on."}))
    ws_events(on_a, lambda e: e["type"] == "delta")
    started = time.monotonic()
    status, answer, _ = call(a, "POST", f"/api/sessions/{session['id']}/stop", {})
    assert status == 200 and answer == {"stopped": True}
    assert time.monotonic() - started < 2
    assert ws_events(on_a, is_final)[-1]["type"] == "stopped"
    # Nothing runs now anywhere: no process says it had it, and the answer does not wait for a timeout.
    started = time.monotonic()
    assert call(b, "POST", f"/api/sessions/{session['id']}/stop", {})[:2] == (200, {"stopped": False})
    assert call(a, "POST", f"/api/sessions/{session['id']}/stop", {})[:2] == (200, {"stopped": False})
    assert time.monotonic() - started < 2
    on_a.close(), on_b.close()


def signed_in(proc: AppProcess, username: str, signup: bool = False) -> str:
    status, body, cookie = call(proc, "POST", f"/api/auth/{'signup' if signup else 'signin'}",
                                {"username": username, "password": PASSWORD})
    assert status in (200, 201) and cookie, body
    return cookie


def test_the_message_rate_limit_holds_across_both(pair, fake_openai):
    a, b = pair(VICE_AI_AUTH="password", VICE_AI_RATE_MESSAGES="3/minute")
    alice = signed_in(a, "alice", signup=True)
    _, session = new_chat(b, alice)  # the sign-in made on A holds on B (the secret key is in the folder)
    sent = f"/api/sessions/{session['id']}/messages"
    fake_openai.script(*[Reply(text="Fine.")] * 3)
    for proc in (a, b, a):
        status, body, _ = call(proc, "POST", sent, {"content": "Hello?"}, alice)
        assert status == 201, body
    status, body, _ = call(b, "POST", sent, {"content": "Once more?"}, alice)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert call(a, "POST", sent, {"content": "And here?"}, alice)[0] == 429


def test_revoking_a_share_and_signing_out_close_the_sockets_on_both(pair):
    a, b = pair(VICE_AI_AUTH="password")
    alice = signed_in(a, "alice", signup=True)
    assert call(a, "POST", "/api/users", {"username": "bob", "password": PASSWORD}, alice)[0] == 201
    bob = signed_in(b, "bob")  # an account made on A signs in on B
    doc, session = new_chat(a, alice)
    assert call(b, "PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "read"}, alice)[0] == 200
    sockets = [open_ws(proc, path, bob)[0] for proc in (a, b)
               for path in (f"/ws/sessions/{session['id']}", f"/ws/documents/{doc['id']}")]
    owner, _ = open_ws(b, f"/ws/documents/{doc['id']}", alice)
    assert call(a, "DELETE", f"/api/documents/{doc['id']}/shares/bob", cookie=alice)[0] == 200
    for ws in sockets:
        closed_with(ws, "not_found", timeout=5)  # well before the sockets' own 10 s sign-in check
    assert ws_events(owner, lambda e: e["type"] == "share_changed")  # the owner's stays, told on B
    # Signing out everywhere on B closes alice's socket on A at once.
    on_a, _ = open_ws(a, f"/ws/sessions/{session['id']}", alice)
    assert call(b, "POST", "/api/auth/signout-everywhere", {}, alice)[0] in (200, 204)
    closed_with(on_a, "unauthorized", timeout=5)
    closed_with(owner, "unauthorized", timeout=5)
