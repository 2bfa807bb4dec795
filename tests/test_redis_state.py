"""Two real app processes on one data folder and one real Redis: what one process says about work in the other.

`hello.generating` and a chat GET's `generating` are true on A while B generates; a notification stream's
`running` is true from either process; a document socket on A sees a section edit made on B.
"""
from __future__ import annotations

import json
import time

import processes
from app_process import AppProcess
from conftest import ws_events
from fake_openai import FakeOpenAI, Reply
from processes import call, is_final, new_chat, open_ws, wait_for
from processes import env_for as stream_env

# Shared fixtures, here too.
pair = processes.pair
make_app_for_streams = processes.make_app_for_streams


def test_a_chat_generating_on_b_is_generating_on_a(pair, fake_openai):
    a, b = pair()
    fake_openai.script(Reply(text=" ".join(f"w{i}" for i in range(300)), delay=0.03))
    _, session = new_chat(a)
    path = f"/ws/sessions/{session['id']}"
    _, idle = open_ws(a, path)
    assert idle["generating"] is False
    on_b, _ = open_ws(b, path)
    on_b.send(json.dumps({"type": "send", "content": "Write a lot."}))
    ws_events(on_b, lambda e: e["type"] == "delta")
    on_a, hello = open_ws(a, path)
    assert hello["generating"] is True  # B holds the chat's lease
    status, page, _ = call(a, "GET", f"/api/sessions/{session['id']}")
    assert status == 200 and page["generating"] is True
    on_a.send(json.dumps({"type": "stop"}))
    assert ws_events(on_b, is_final)[-1]["type"] == "stopped"
    later, hello = open_ws(a, path)
    assert hello["generating"] is False
    status, page, _ = call(a, "GET", f"/api/sessions/{session['id']}")
    assert status == 200 and page["generating"] is False
    for ws in (on_a, on_b, later):
        ws.close()


def test_a_document_socket_on_a_sees_section_edits_and_new_chats_made_on_b(pair):
    a, b = pair()
    doc, _ = new_chat(a)
    section = doc["sections"][0]
    ws, hello = open_ws(a, f"/ws/documents/{doc['id']}")
    status, saved, _ = call(b, "PATCH", f"/api/documents/{doc['id']}/sections/{section['id']}",
                            {"version": section["version"], "content": "The budget is 45,000 euros."})
    assert status == 200, saved
    updated = ws_events(ws, lambda e: e["type"] == "section_updated")[-1]
    assert updated["section"]["content"] == "The budget is 45,000 euros." and updated["changed"] == ["content"]
    assert updated["document_id"] == doc["id"] and updated["seq"] > hello["seq"]
    status, chat, _ = call(b, "POST", f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", {})
    assert status == 201
    created = ws_events(ws, lambda e: e["type"] == "chat_created")[-1]
    assert created["session"]["id"] == chat["id"] and created["seq"] == updated["seq"] + 1
    ws.close()


def test_a_notification_stream_running_in_one_process_is_running_from_both(data_dir, redis_url,
                                                                          make_app_for_streams):
    session, stream_id = make_app_for_streams(data_dir)
    fakes = [FakeOpenAI().start(), FakeOpenAI().start()]
    try:
        for fake in fakes:
            fake.default = Reply(text="nothing new")
        env = {"VICE_AI_REDIS_URL": redis_url}
        with AppProcess(str(data_dir), stream_env(fakes[0], env)) as a, \
                AppProcess(str(data_dir), stream_env(fakes[1], env)) as b:
            wait_for(lambda: sum(len(f.chat_requests) for f in fakes) >= 2, 20, "stream checks")
            for proc in (a, b):
                status, body = proc.request("GET", f"/api/sessions/{session}/streams")
                assert status == 200 and [(s["id"], s["running"]) for s in body["streams"]] == [(stream_id, True)]
            status, _ = a.request("DELETE", f"/api/sessions/{session}/streams/{stream_id}")
            assert status == 200
            deadline = time.monotonic() + 10
            while True:  # the holder sees the stop before its next check, then gives the lease back
                views = [proc.request("GET", f"/api/sessions/{session}/streams")[1]["streams"] for proc in (a, b)]
                if all(not v[0]["running"] for v in views) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert [v[0]["running"] for v in views] == [False, False]
    finally:
        for fake in fakes:
            fake.close()
