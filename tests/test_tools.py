"""Function calling through the real openai client and the fake server: the tool loop end to end."""
from __future__ import annotations

import json

import pytest
from conftest import make_document, make_session, model_config, ws_events
from fake_openai import Reply, ToolCall
from ws_client import WSClient

from vice_ai.services import services
from vice_ai.tools import Tool, schema


def chat(client, session: dict, text: str = "Please check the section.") -> dict:
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": text})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def stored(client, session: dict) -> list[dict]:
    return client.get(f"/api/sessions/{session['id']}").get_json()["messages"]


def tool_results(request) -> list[dict]:
    return [m for m in request.json["messages"] if m["role"] == "tool"]


@pytest.fixture
def setup(model_app, fake_openai):
    client = model_app.test_client()
    doc = make_document(client)
    return client, doc, make_session(client, doc), fake_openai


def test_tool_call_runs_and_its_result_goes_back_to_the_model(setup):
    client, doc, session, fake = setup
    fake.script(Reply(text="", tool_calls=[ToolCall("read_section", "{}", id="call_a")]),
                Reply(text="The budget is 40,000 euros."))
    body = chat(client, session)
    assert body["assistant_message"]["content"] == "The budget is 40,000 euros."

    first, second = fake.chat_requests
    offered = {t["function"]["name"] for t in first.json["tools"]}
    assert {"read_section", "list_sections", "search_document", "propose_section_edit"} <= offered
    assert "send_notification" not in offered  # only notification streams may notify
    assert "session_id" not in json.dumps(first.json["tools"])  # hidden from the model
    [result] = tool_results(second)
    assert result["tool_call_id"] == "call_a"
    assert json.loads(result["content"])["content"] == doc["sections"][0]["content"]
    calling = [m for m in second.json["messages"] if m.get("tool_calls")]
    assert calling[0]["tool_calls"][0]["function"]["name"] == "read_section"

    history = stored(client, session)
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[1]["tool_calls"][0]["id"] == "call_a"
    assert history[2]["tool_call_id"] == "call_a" and history[2]["status"] == "complete"
    assert history[3]["parent_id"] == history[2]["id"]


def test_a_model_cannot_point_a_tool_at_another_session_or_document(setup):
    client, doc, session, fake = setup
    other_doc = make_document(client, "Secret plan", [{"title": "Hidden", "content": "The password is swordfish."}])
    other = make_session(client, other_doc)
    fake.script(
        Reply(text="", tool_calls=[
            ToolCall("read_section", json.dumps({"session_id": other["id"]}), id="c1"),
            ToolCall("read_section", json.dumps({"section_id": other_doc["sections"][0]["id"]}), id="c2"),
            ToolCall("set_session_variable", json.dumps({"name": "x", "value": 1, "session_id": other["id"]}),
                     id="c3"),
        ]),
        Reply(text="Done."),
    )
    chat(client, session)
    results = {m["tool_call_id"]: json.loads(m["content"]) for m in tool_results(fake.chat_requests[1])}
    assert "Additional properties" in results["c1"]["error"]
    assert "No section" in results["c2"]["error"]
    assert "error" in results["c3"]
    assert "swordfish" not in json.dumps(results)
    assert client.get(f"/api/sessions/{other['id']}").get_json()["variables"] == {}


@pytest.mark.parametrize("omit_index", [False, True])
def test_streamed_calls_are_reassembled_with_or_without_index(setup, omit_index):
    client, _, session, fake = setup
    fake.script(
        Reply(text="Let me look. ", omit_index=omit_index, tool_calls=[
            ToolCall("search_document", json.dumps({"query": "interview"}), id="s1", argument_chunks=4),
            ToolCall("list_sections", "{}", id="s2"),
        ]),
        Reply(text="Found it."),
    )
    chat(client, session)
    results = {m["tool_call_id"]: json.loads(m["content"]) for m in tool_results(fake.chat_requests[1])}
    assert results["s1"][0]["title"] == "Methods"
    assert [s["title"] for s in results["s2"]] == ["Summary", "Methods"]
    assert stored(client, session)[1]["content"] == "Let me look. "


def test_invalid_json_arguments_and_unknown_tools_become_error_results(setup):
    client, _, session, fake = setup
    fake.script(
        Reply(text="", tool_calls=[ToolCall("read_section", '{"section_id": ', id="bad"),
                                   ToolCall("format_disk", "{}", id="nope")]),
        Reply(text="Sorry, I could not read it."),
    )
    body = chat(client, session)
    assert body["assistant_message"]["status"] == "complete"
    results = {m["tool_call_id"]: json.loads(m["content"])["error"] for m in tool_results(fake.chat_requests[1])}
    assert "not valid JSON" in results["bad"]
    assert "Unknown tool" in results["nope"]
    assert [m["status"] for m in stored(client, session) if m["role"] == "tool"] == ["error", "error"]


def test_a_tool_that_raises_returns_an_error_and_the_round_goes_on(setup, model_app):
    client, _, session, fake = setup

    def explode(ctx):
        raise RuntimeError("disk on fire")

    services(model_app).engine.tools.tools["explode"] = Tool("explode", "Fails.", schema({}), explode)
    assert client.patch(f"/api/sessions/{session['id']}",
                        json={"config": {"tools": ["explode"]}}).status_code == 200
    fake.script(Reply(text="", tool_calls=[ToolCall("explode", "{}", id="x")]), Reply(text="It failed."))
    body = chat(client, session)
    assert body["assistant_message"]["content"] == "It failed."
    [result] = tool_results(fake.chat_requests[1])
    assert json.loads(result["content"]) == {"error": "The tool failed: RuntimeError."}
    assert [t["function"]["name"] for t in fake.chat_requests[0].json["tools"]] == ["explode"]


def test_tools_can_be_turned_off(setup):
    client, _, session, fake = setup
    client.patch(f"/api/sessions/{session['id']}", json={"config": {"tools": []}})
    chat(client, session)
    assert "tools" not in fake.chat_requests[0].json


def test_the_loop_ends_in_text_after_the_maximum_tool_rounds(make_app, fake_openai):
    app = make_app(**model_config(fake_openai, MAX_TOOL_ROUNDS=2))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(*[Reply(text="", tool_calls=[ToolCall("list_sections", "{}")]) for _ in range(2)],
                       Reply(text="Enough looking."))
    body = chat(client, session)
    assert body["assistant_message"]["content"] == "Enough looking."
    requests = fake_openai.chat_requests
    assert len(requests) == 3
    assert "tools" in requests[1].json and "tools" not in requests[2].json


def test_variables_set_by_a_tool_are_kept_and_sent_next_turn(setup):
    client, _, session, fake = setup
    fake.script(Reply(text="", tool_calls=[ToolCall("set_session_variable", '{"name": "tone", "value": "formal"}')]),
                Reply(text="Noted."), Reply(text="Formal it is."))
    chat(client, session, "Use a formal tone from now on.")
    assert client.get(f"/api/sessions/{session['id']}").get_json()["variables"] == {"tone": "formal"}
    chat(client, session, "Rewrite the opening.")
    assert '"tone": "formal"' in fake.chat_requests[2].json["messages"][0]["content"]


def test_a_tool_cannot_store_a_variable_that_would_not_read_back(setup):
    client, _, session, fake = setup
    deep = json.dumps({"name": "deep", "value": json.loads("[" * 20 + "]" * 20)})
    huge = json.dumps({"name": "huge", "value": "x" * 70_000})
    fake.script(Reply(text="", tool_calls=[ToolCall("set_session_variable", deep), ToolCall("set_session_variable", huge)]),
                Reply(text="Could not."))
    chat(client, session, "Remember these.")
    stored = client.get(f"/api/sessions/{session['id']}").get_json()
    assert stored["variables"] == {}
    results = [m["content"] for m in stored["messages"] if m["role"] == "tool"]
    assert "nested more than 8 levels" in results[0] and "larger than 65536 bytes" in results[1]


def test_history_with_tool_calls_survives_a_restart(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(text="", tool_calls=[ToolCall("list_sections", "{}", id="keep")]), Reply(text="Two."))
    chat(client, session, "How many sections?")

    client = make_app(**model_config(fake_openai)).test_client()  # a restart
    fake_openai.script(Reply(text="Still two."))
    chat(client, session, "And now?")
    sent = fake_openai.chat_requests[-1].json["messages"]
    roles = [m["role"] for m in sent]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[2]["tool_calls"][0]["id"] == "keep" and sent[3]["tool_call_id"] == "keep"


def test_proposed_edit_waits_for_the_user_then_becomes_a_linked_version(setup):
    client, doc, session, fake = setup
    fake.script(Reply(text="", tool_calls=[ToolCall(
        "propose_section_edit", json.dumps({"new_content": "A tighter summary.", "summary": "Tightened"}))]),
        Reply(text="I proposed a tighter version."))
    chat(client, session)
    section_url = f"/api/documents/{doc['id']}"
    assert client.get(section_url).get_json()["sections"][0]["version"] == 1  # nothing written yet
    [suggestion] = client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    assert suggestion["status"] == "pending" and suggestion["base_version"] == 1

    resp = client.post(f"/api/sessions/{session['id']}/suggestions/{suggestion['id']}/accept", json={})
    assert resp.status_code == 200
    section = resp.get_json()["section"]
    assert section["content"] == "A tighter summary." and section["version"] == 2
    versions = client.get(f"{section_url}/sections/{section['id']}/versions").get_json()["versions"]
    assert versions[-1]["source"]["message_id"] == suggestion["message_id"]
    assert versions[-1]["source"]["suggestion_id"] == suggestion["id"]
    again = client.post(f"/api/sessions/{session['id']}/suggestions/{suggestion['id']}/accept", json={})
    assert again.status_code == 409


def test_a_proposal_on_a_changed_section_needs_force_and_can_be_rejected(setup):
    client, doc, session, fake = setup
    fake.script(Reply(text="", tool_calls=[ToolCall(
        "propose_section_edit", json.dumps({"new_content": "New.", "summary": "x"}))]), Reply(text="ok"),
        Reply(text="", tool_calls=[ToolCall(
            "propose_section_edit", json.dumps({"new_content": "Other.", "summary": "y"}))]), Reply(text="ok"))
    chat(client, session)
    chat(client, session)
    first, second = client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    sec = doc["sections"][0]
    client.patch(f"/api/documents/{doc['id']}/sections/{sec['id']}", json={"version": 1, "content": "Edited by hand."})
    url = f"/api/sessions/{session['id']}/suggestions/{first['id']}"
    assert client.post(f"{url}/accept", json={}).get_json()["error"]["current_version"] == 2
    assert client.post(f"{url}/accept", json={"force": True}).status_code == 200
    rejected = client.post(f"/api/sessions/{session['id']}/suggestions/{second['id']}/reject", json={})
    assert rejected.status_code == 200
    statuses = [s["status"] for s in client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]]
    assert statuses == ["accepted", "rejected"]


def test_tool_steps_are_streamed_to_the_websocket(model_app, fake_openai, start_server):

    server = start_server(model_app)
    client = model_app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(text="", tool_calls=[ToolCall("list_sections", "{}", id="w")]), Reply(text="Two."))
    ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session['id']}")
    ws.send(json.dumps({"type": "send", "content": "Outline?"}))
    events = ws_events(ws, lambda e: e["type"] == "done")
    types = [e["type"] for e in events]
    assert types.index("tool_call") < types.index("tool_result") < types.index("done")
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is True and result["name"] == "list_sections"
    assert [e["step"] for e in events if e["type"] == "round_start"] == [0, 1]
    ws.close()
