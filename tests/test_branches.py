"""Branches of a chat: edit and resend, regenerate any reply, switch branches; what the model is sent; restarts."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply

from vice_ai.domain.models import Message
from vice_ai.llm.base import ChatRequest, Finish, TextDelta
from vice_ai.services import services


def _send(client, session_id: str, content: str, **extra) -> dict:
    resp = client.post(f"/api/sessions/{session_id}/messages", json={"content": content, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _view(client, session_id: str, leaf: str | None = None) -> dict:
    """A chat's first page: its active branch, or the branch through `leaf` (the view pages along one branch)."""
    resp = client.get(f"/api/sessions/{session_id}" + (f"?leaf={leaf}" if leaf else ""))
    assert resp.status_code == 200
    return resp.get_json()


def _by_id(view: dict) -> dict[str, dict]:
    return {m["id"]: m for m in view["messages"]}


def _two_turns(client) -> tuple[dict, dict, dict]:
    """A chat with two questions answered: (session, first round, second round)."""
    session = make_session(client, make_document(client))
    first = _send(client, session["id"], "What is the budget?")
    second = _send(client, session["id"], "And the duration?")
    return session, first, second


def _sent_contents(request) -> list[str]:
    return [m["content"] for m in request.json["messages"] if m["role"] != "system"]


# -- edit and resend ---------------------------------------------------------------------------

def test_edit_and_resend_makes_a_sibling_and_sends_only_its_branch(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    session, first, second = _two_turns(client)
    fake_openai.script(Reply(text="Two years."))
    edited = _send(client, session["id"], "And how long does it run?",
                   parent_id=first["assistant_message"]["id"])
    question, reply = edited["user_message"], edited["assistant_message"]
    assert question["parent_id"] == first["assistant_message"]["id"]
    assert reply["parent_id"] == question["id"] and reply["content"] == "Two years."
    # The model saw the first turn and the edited question, not the question it replaces.
    assert _sent_contents(fake_openai.chat_requests[-1]) == [
        "What is the budget?", first["assistant_message"]["content"], "And how long does it run?"]
    assert reply["receipt"]["messages_kept"] == 3
    assert reply["receipt"]["messages_other_branches"] == 2
    assert "2 messages on other branches" in reply["receipt"]["branch_note"]

    view = _view(client, session["id"])
    assert view["message_count"] == 6  # nothing was deleted
    assert view["active_leaf"] == reply["id"]
    assert view["active_path"] == [first["user_message"]["id"], first["assistant_message"]["id"],
                                   question["id"], reply["id"]]
    assert [m["id"] for m in view["messages"]] == view["active_path"]  # the page shows the active branch
    messages = _by_id(view)
    old = _by_id(_view(client, session["id"], leaf=second["user_message"]["id"]))[second["user_message"]["id"]]
    assert old["sibling_ids"] == [second["user_message"]["id"], question["id"]] and old["sibling_index"] == 0
    assert messages[question["id"]]["sibling_index"] == 1
    assert messages[first["user_message"]["id"]]["sibling_ids"] == [first["user_message"]["id"]]
    # A plain send goes on from the end of the active branch.
    after = _send(client, session["id"], "Thanks")
    assert after["user_message"]["parent_id"] == reply["id"]


def test_editing_the_first_message_with_a_null_parent(client):
    session, first, second = _two_turns(client)
    edited = _send(client, session["id"], "What does it cost?", parent_id=None)
    assert edited["user_message"]["parent_id"] is None
    view = _view(client, session["id"])
    assert view["active_path"] == [edited["user_message"]["id"], edited["assistant_message"]["id"]]
    assert _by_id(view)[edited["user_message"]["id"]]["sibling_ids"] == [first["user_message"]["id"],
                                                                          edited["user_message"]["id"]]
    other = _view(client, session["id"], leaf=first["user_message"]["id"])
    assert other["shown_leaf"] == second["assistant_message"]["id"] and other["active_leaf"] != other["shown_leaf"]
    assert _by_id(other)[first["user_message"]["id"]]["sibling_index"] == 0
    # The reply of the new branch was written without the old branch's two turns.
    receipt = edited["assistant_message"]["receipt"]
    assert receipt["messages_kept"] == 1 and receipt["messages_other_branches"] == 4


# -- switching branches --------------------------------------------------------------------------

def test_switching_to_an_inner_message_takes_its_newest_descendant(client):
    session, first, second = _two_turns(client)
    edited = _send(client, session["id"], "How long?", parent_id=first["assistant_message"]["id"])
    url = f"/api/sessions/{session['id']}"
    # The old question is not a leaf: its branch is the path through it to its newest descendant.
    resp = client.patch(url, json={"active_leaf": second["user_message"]["id"]})
    assert resp.status_code == 200, resp.get_json()
    back = resp.get_json()
    assert back["active_leaf"] == second["assistant_message"]["id"]
    assert back["active_path"][-2:] == [second["user_message"]["id"], second["assistant_message"]["id"]]
    # The first message holds both branches: the newest one, the edit's, is chosen.
    again = client.patch(url, json={"active_leaf": first["user_message"]["id"]}).get_json()
    assert again["active_leaf"] == edited["assistant_message"]["id"]
    client.patch(url, json={"active_leaf": second["assistant_message"]["id"]})
    # A new message follows the branch chosen.
    assert _send(client, session["id"], "More")["user_message"]["parent_id"] == second["assistant_message"]["id"]


@pytest.mark.parametrize("body, status, field", [
    ({"active_leaf": "no-such-message"}, 404, "active_leaf"),
    ({"active_leaf": "x" * 101}, 400, "active_leaf"),
    ({"active_leaf": 5}, 400, "active_leaf"),
])
def test_bad_active_leaf(client, body, status, field):
    session, _, second = _two_turns(client)
    resp = client.patch(f"/api/sessions/{session['id']}", json={**body, "title": "Renamed"})
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    view = _view(client, session["id"])
    assert view["active_leaf"] == second["assistant_message"]["id"] and view["title"] != "Renamed"


def test_messages_of_another_chat_are_not_found(client):
    session, first, _ = _two_turns(client)
    other = make_session(client, make_document(client, "Other"))
    _send(client, other["id"], "Hello")
    url = f"/api/sessions/{other['id']}"
    before = _view(client, other["id"])
    foreign = first["assistant_message"]["id"]
    for resp in (client.post(f"{url}/messages", json={"content": "x", "parent_id": foreign}),
                 client.post(f"{url}/regenerate", json={"message_id": foreign}),
                 client.patch(url, json={"active_leaf": foreign})):
        assert resp.status_code == 404, resp.get_json()
        assert "in this chat" in resp.get_json()["error"]["message"]
    assert _view(client, other["id"])["messages"] == before["messages"]


def test_parent_and_reply_must_be_the_right_kind_of_message(client):
    session, first, _ = _two_turns(client)
    url = f"/api/sessions/{session['id']}"
    before = _view(client, session["id"])["messages"]
    resp = client.post(f"{url}/messages", json={"content": "x", "parent_id": first["user_message"]["id"]})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "parent_id"
    assert "user message" in resp.get_json()["error"]["message"]
    resp = client.post(f"{url}/regenerate", json={"message_id": first["user_message"]["id"]})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "message_id"
    resp = client.post(f"{url}/messages", json={"content": "x", "parent_id": "nope"})
    assert resp.status_code == 404 and resp.get_json()["error"]["field"] == "parent_id"
    assert client.post(f"{url}/regenerate", json={"message_id": "nope"}).status_code == 404
    assert client.post(f"{url}/regenerate", json={"message_id": 3}).status_code == 400
    assert _view(client, session["id"])["messages"] == before


# -- regenerate ---------------------------------------------------------------------------------

def test_regenerate_an_earlier_reply_makes_its_sibling(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    session, first, second = _two_turns(client)
    fake_openai.script(Reply(text="Forty thousand euros."))
    resp = client.post(f"/api/sessions/{session['id']}/regenerate",
                       json={"message_id": first["assistant_message"]["id"]})
    assert resp.status_code == 201, resp.get_json()
    again = resp.get_json()
    assert again["user_message"]["id"] == first["user_message"]["id"]
    assert again["assistant_message"]["parent_id"] == first["user_message"]["id"]
    assert _sent_contents(fake_openai.chat_requests[-1]) == ["What is the budget?"]
    assert again["assistant_message"]["receipt"]["messages_other_branches"] == 3
    view = _view(client, session["id"])
    assert view["message_count"] == 5
    assert view["active_path"] == [first["user_message"]["id"], again["assistant_message"]["id"]]
    reply = _by_id(view)[again["assistant_message"]["id"]]
    assert reply["sibling_ids"] == [first["assistant_message"]["id"], again["assistant_message"]["id"]]
    assert reply["sibling_index"] == 1
    # Default: the active branch's last reply, now the new one.
    latest = client.post(f"/api/sessions/{session['id']}/regenerate").get_json()
    assert latest["assistant_message"]["parent_id"] == first["user_message"]["id"]
    assert len(_by_id(_view(client, session["id"]))[latest["assistant_message"]["id"]]["sibling_ids"]) == 3


class GatedBackend:
    """A model that says one word, then waits until cancelled (a reply to stop)."""

    offline = False

    def __init__(self) -> None:
        self.started = threading.Event()

    def models(self) -> list[str]:
        return ["gated"]

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator:
        yield TextDelta("Partial ")
        self.started.set()
        cancel.wait(10)
        yield Finish("stop")


def test_regenerate_a_stopped_reply_and_no_switching_while_generating(make_app):
    backend = GatedBackend()
    client = make_app(LLM_BACKEND=backend).test_client()
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}"
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(
        body=client.post(f"{url}/messages", json={"content": "Go"}).get_json()))
    worker.start()
    assert backend.started.wait(10)
    question = _view(client, session["id"])["messages"][0]
    busy = client.patch(url, json={"active_leaf": question["id"]})
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "busy"
    client.post(f"{url}/stop")
    worker.join(10)
    stopped = result["body"]["assistant_message"]
    assert stopped["status"] == "stopped"
    backend.started.clear()
    again: dict = {}
    worker = threading.Thread(target=lambda: again.update(
        body=client.post(f"{url}/regenerate", json={"message_id": stopped["id"]}).get_json()))
    worker.start()
    assert backend.started.wait(10)
    client.post(f"{url}/stop")
    worker.join(10)
    reply = again["body"]["assistant_message"]
    assert reply["parent_id"] == question["id"] and reply["id"] != stopped["id"]
    view = _view(client, session["id"])
    assert _by_id(view)[reply["id"]]["sibling_ids"] == [stopped["id"], reply["id"]]
    assert view["active_leaf"] == reply["id"]


# -- restarts, compaction, old files, recovery ---------------------------------------------------

def test_branches_and_the_active_leaf_survive_restarts_and_compaction(make_app):
    app = make_app(JOURNAL_COMPACT_BYTES=1)  # every append folds the journal into the snapshot
    client = app.test_client()
    session, first, second = _two_turns(client)
    edited = _send(client, session["id"], "How long?", parent_id=first["assistant_message"]["id"])
    client.patch(f"/api/sessions/{session['id']}", json={"active_leaf": second["user_message"]["id"]})
    before = _view(client, session["id"])
    assert before["active_leaf"] == second["assistant_message"]["id"]
    for config in ({"JOURNAL_COMPACT_BYTES": 1}, {}):
        restarted = make_app(**config).test_client()
        after = _view(restarted, session["id"])
        assert after["active_leaf"] == before["active_leaf"] and after["active_path"] == before["active_path"]
        assert after["messages"] == before["messages"]
    # With the journal kept (no compaction) the switch is a record of its own; after a restart, too.
    plain = make_app().test_client()
    plain.patch(f"/api/sessions/{session['id']}", json={"active_leaf": edited["assistant_message"]["id"]})
    assert _view(make_app().test_client(), session["id"])["active_leaf"] == edited["assistant_message"]["id"]


def test_a_file_from_before_branches_has_its_last_message_as_leaf(make_app, data_dir):
    app = make_app(JOURNAL_COMPACT_BYTES=1)
    client = app.test_client()
    session, _, second = _two_turns(client)
    path = Path(data_dir) / "sessions" / f"{session['id']}.json"
    stored = json.loads(path.read_text())
    del stored["data"]["active_leaf"]
    path.write_text(json.dumps(stored))
    restarted = make_app().test_client()
    view = _view(restarted, session["id"])
    assert view["active_leaf"] == second["assistant_message"]["id"] and len(view["active_path"]) == 4
    assert _send(restarted, session["id"], "Next")["user_message"]["parent_id"] == second["assistant_message"]["id"]


def test_a_reply_left_streaming_on_another_branch_is_recovered(make_app):
    app = make_app()
    client = app.test_client()
    session, first, second = _two_turns(client)
    state = services(app).state
    # A reply a dead process was writing on the first question's branch; the user is on the other branch.
    ghost = Message(role="assistant", content="Half", parent_id=first["user_message"]["id"], status="streaming")
    state.append_message(session["id"], ghost)
    with state.edit_session(session["id"]) as writer:
        writer.set(active_leaf=second["assistant_message"]["id"])
    view = _view(make_app().test_client(), session["id"])
    recovered = _by_id(_view(make_app().test_client(), session["id"], leaf=ghost.id))[ghost.id]
    assert recovered["status"] == "interrupted" and recovered["content"] == "Half"
    assert recovered["error"]["reason"] == "server_restart"
    assert view["active_leaf"] == second["assistant_message"]["id"]
    assert recovered["sibling_ids"] == [first["assistant_message"]["id"], ghost.id]


# -- titles ---------------------------------------------------------------------------------------

def test_a_new_chat_is_named_from_its_first_message(client):
    doc = make_document(client)
    untitled = make_session(client, doc)
    assert untitled["title"] == "New chat"
    _send(client, untitled["id"], "  Tighten   the summary\nplease, and keep the budget figure sk-proj-abcdefghij0123456789XYZ")
    title = _view(client, untitled["id"])["title"]
    assert title.startswith("Tighten the summary please, and keep the budget figure")
    assert "sk-proj" not in title and len(title) <= 60
    _send(client, untitled["id"], "Second message")
    assert _view(client, untitled["id"])["title"] == title
    named = make_session(client, doc, title="My title")
    _send(client, named["id"], "Hello")
    assert _view(client, named["id"])["title"] == "My title"


# -- websocket, exports, stats --------------------------------------------------------------------

def test_websocket_send_with_parent_and_retry_with_message_id(app, live_server):
    client = app.test_client()
    session = make_session(client, make_document(client))
    ws = connect_ws(live_server, session["id"])
    try:
        ws.send(json.dumps({"type": "send", "content": "First question"}))
        events = ws_events(ws, lambda e: e["type"] == "done")
        assert events[0]["type"] == "user_message" and events[0]["title"] == "First question"
        first_reply = events[-1]["message"]
        ws.send(json.dumps({"type": "send", "content": "Edited first", "parent_id": None}))
        events = ws_events(ws, lambda e: e["type"] == "done")
        assert events[0]["message"]["parent_id"] is None and events[0]["title"] is None
        ws.send(json.dumps({"type": "retry", "message_id": first_reply["id"]}))
        events = ws_events(ws, lambda e: e["type"] == "done")
        assert events[0]["type"] == "user_message" and events[0]["regenerate"] is True
        assert events[-1]["message"]["parent_id"] == first_reply["parent_id"]
        ws.send(json.dumps({"type": "retry", "message_id": "nope"}))
        error = ws_events(ws, lambda e: e["type"] == "error")[-1]
        assert error["local"] is True and error["error"]["code"] == "not_found"
    finally:
        ws.close()
    view = _view(client, session["id"])
    assert view["message_count"] == 5 and view["active_leaf"] == events[-1]["message"]["id"]


def test_exports_and_stats_count_every_branch(client):
    session, first, second = _two_turns(client)
    edited = _send(client, session["id"], "How long does it run?", parent_id=first["assistant_message"]["id"])
    doc_id = session["document_id"]
    data = client.get(f"/api/documents/{doc_id}/export?format=json").get_json()
    exported = data["sessions"][0]
    assert len(exported["messages"]) == 6 and exported["active_leaf"] == edited["assistant_message"]["id"]
    markdown = client.get(f"/api/documents/{doc_id}/export?format=markdown&chats=1").get_data(as_text=True)
    assert "How long does it run?" in markdown and "And the duration?" not in markdown
    assert "2 message(s) on other branches" in markdown
    assert client.get("/api/stats").get_json()["messages"] == 6
