"""Chat sessions over HTTP: create, list, get, patch, delete, chat with the offline assistant, apply replies."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from conftest import make_document, make_session

from vice_ai.domain.models import now
from vice_ai.llm.base import ChatRequest, Finish, TextDelta
from vice_ai.services import services

UNKNOWN = "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"


def _next_millisecond() -> None:
    """Wait until the server clock shows a new timestamp, so 'newest first' has something to order."""
    start = now()
    while now() == start:
        pass


def _sessions_url(doc: dict, index: int = 0) -> str:
    return f"/api/documents/{doc['id']}/sections/{doc['sections'][index]['id']}/sessions"


def _section(client, doc: dict, index: int = 0) -> dict:
    return client.get(f"/api/documents/{doc['id']}").get_json()["sections"][index]


def _session_files(data_dir: str, session_id: str) -> list[str]:
    return sorted(n for n in os.listdir(os.path.join(data_dir, "sessions")) if n.startswith(session_id))


def _send(client, session: dict, content: str = "What is the budget?") -> dict:
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": content})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# -- create -------------------------------------------------------------------------------

def test_create_session_defaults(client, data_dir):
    doc = make_document(client)
    resp = client.post(_sessions_url(doc), json={})
    assert resp.status_code == 201
    session = resp.get_json()
    assert session["document_id"] == doc["id"]
    assert session["section_id"] == doc["sections"][0]["id"]
    assert session["title"] == "New chat"
    assert session["messages"] == []
    assert session["config"] == {}
    assert session["variables"] == {}
    assert session["context_documents"] == []
    assert session["section_version"] == 1
    assert session["generating"] is False
    assert session["format_version"] == 1
    assert _session_files(data_dir, session["id"]) == [f"{session['id']}.json"]
    assert _section(client, doc)["session_ids"] == [session["id"]]


def test_create_session_with_an_empty_body(client):
    doc = make_document(client)
    assert client.post(_sessions_url(doc)).status_code == 201


def test_create_session_with_title_and_config(client):
    doc = make_document(client)
    body = {"title": "Budget check", "model": "gpt-4o", "system_prompt": "Be terse.", "temperature": 0.3}
    session = client.post(_sessions_url(doc, 1), json=body).get_json()
    assert session["title"] == "Budget check"
    assert session["config"] == {"model": "gpt-4o", "system_prompt": "Be terse.", "temperature": 0.3}
    assert session["section_id"] == doc["sections"][1]["id"]
    assert client.get(f"/api/sessions/{session['id']}").get_json() == session


@pytest.mark.parametrize("temperature", [0, 2, 1, 0.7])
def test_create_session_accepts_temperatures_in_range(client, temperature):
    doc = make_document(client)
    session = client.post(_sessions_url(doc), json={"temperature": temperature}).get_json()
    assert session["config"]["temperature"] == temperature


@pytest.mark.parametrize(("body", "field"), [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": 1}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"model": ""}, "model"),
    ({"model": 4}, "model"),
    ({"model": "m" * 201}, "model"),
    ({"system_prompt": 1}, "system_prompt"),
    ({"system_prompt": "s" * 20_001}, "system_prompt"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": 2.5}, "temperature"),
    ({"temperature": "0.5"}, "temperature"),
    ({"temperature": True}, "temperature"),
    ({"temperature": [1]}, "temperature"),
    ({"config": {}}, "config"),
    ({"messages": []}, "messages"),
])
def test_create_session_rejects_bad_input(client, data_dir, body, field):
    doc = make_document(client)
    resp = client.post(_sessions_url(doc), json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert os.listdir(os.path.join(data_dir, "sessions")) == []
    assert _section(client, doc)["session_ids"] == []


@pytest.mark.parametrize("doc_id", [UNKNOWN, "nope"])
def test_create_session_under_an_unknown_document_is_404(client, data_dir, doc_id):
    doc = make_document(client)
    url = f"/api/documents/{doc_id}/sections/{doc['sections'][0]['id']}/sessions"
    assert client.post(url, json={}).status_code == 404
    assert client.get(url).status_code == 404
    assert os.listdir(os.path.join(data_dir, "sessions")) == []


# -- list ---------------------------------------------------------------------------------

def test_list_sessions_newest_first(client):
    doc = make_document(client)
    first = make_session(client, doc, title="First")
    _next_millisecond()
    second = make_session(client, doc, title="Second")
    make_session(client, doc, 1, title="Elsewhere")
    _send(client, first)
    resp = client.get(_sessions_url(doc))
    assert resp.status_code == 200
    listed = resp.get_json()["sessions"]
    assert [s["id"] for s in listed] == [second["id"], first["id"]]
    assert [s["message_count"] for s in listed] == [0, 2]
    assert listed[1]["title"] == "First"
    assert "messages" not in listed[0]


def test_list_sessions_of_a_section_without_any(client):
    doc = make_document(client)
    assert client.get(_sessions_url(doc)).get_json() == {"sessions": []}


# -- get ------------------------------------------------------------------------------------

def test_get_session_with_messages_and_the_current_section_version(client):
    doc = make_document(client)
    session = make_session(client, doc)
    sent = _send(client, session)
    section_id = doc["sections"][0]["id"]
    client.patch(f"/api/documents/{doc['id']}/sections/{section_id}", json={"content": "New text.", "version": 1})
    got = client.get(f"/api/sessions/{session['id']}").get_json()
    assert [m["id"] for m in got["messages"]] == [sent["user_message"]["id"], sent["assistant_message"]["id"]]
    assert got["messages"][1]["html"]  # replies come rendered
    assert got["section_version"] == 2
    assert got["messages"][0]["section_version"] == 1  # what the question was based on
    assert got["generating"] is False


@pytest.mark.parametrize("session_id", [UNKNOWN, "not-a-uuid", "..", UNKNOWN.upper()])
@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("get", "", None),
    ("patch", "", {"title": "x"}),
    ("delete", "", None),
    ("post", "/messages", {"content": "hi"}),
    ("post", "/regenerate", None),
    ("post", "/stop", None),
    ("post", "/apply", {"message_id": UNKNOWN, "mode": "replace"}),
])
def test_unknown_session_is_404(client, data_dir, session_id, method, suffix, body):
    resp = getattr(client, method)(f"/api/sessions/{session_id}{suffix}", json=body)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert os.listdir(os.path.join(data_dir, "sessions")) == []


# -- patch -----------------------------------------------------------------------------------

def test_patch_title_config_variables_context_documents(client):
    doc = make_document(client)
    session = make_session(client, doc, model="gpt-4o", temperature=0.2)
    body = {
        "title": "Renamed",
        "config": {"temperature": 1.5, "system_prompt": "Answer in French."},
        "variables": {"audience": "reviewers", "limits": {"words": 300}},
        "context_documents": [{"name": "Call text", "content": "Proposals must state a budget."}],
    }
    resp = client.patch(f"/api/sessions/{session['id']}", json=body)
    assert resp.status_code == 200
    patched = resp.get_json()
    assert patched["title"] == "Renamed"
    # Config is merged: the model chosen at creation stays.
    assert patched["config"] == {"model": "gpt-4o", "temperature": 1.5, "system_prompt": "Answer in French."}
    assert patched["variables"] == body["variables"]
    assert patched["context_documents"] == body["context_documents"]
    assert client.get(f"/api/sessions/{session['id']}").get_json() == patched


def test_patch_with_nothing_changes_nothing(client):
    doc = make_document(client)
    session = make_session(client, doc)
    resp = client.patch(f"/api/sessions/{session['id']}", json={})
    assert resp.status_code == 200
    assert resp.get_json()["title"] == session["title"]


def test_patch_can_clear_variables_and_context_documents(client):
    doc = make_document(client)
    session = make_session(client, doc)
    url = f"/api/sessions/{session['id']}"
    client.patch(url, json={"variables": {"a": 1}, "context_documents": [{"name": "n", "content": "c"}]})
    cleared = client.patch(url, json={"variables": {}, "context_documents": []}).get_json()
    assert (cleared["variables"], cleared["context_documents"]) == ({}, [])


@pytest.mark.parametrize("body", [
    {"title": ""},
    {"title": 3},
    {"title": "x" * 301},
    {"config": "gpt-4o"},
    {"config": ["model"]},
    {"config": {"model": ""}},
    {"config": {"model": 3}},
    {"config": {"temperature": 9}},
    {"config": {"temperature": "hot"}},
    {"config": {"temperature": False}},
    {"config": {"system_prompt": {"text": "x"}}},
    {"config": {"api_key": "sk-test-not-a-real-key"}},
    {"variables": ["a", "b"]},
    {"variables": "a=b"},
    {"variables": {f"k{i}": i for i in range(101)}},
    {"variables": {"big": "x" * 70_000}},
    {"context_documents": {"name": "n", "content": "c"}},
    {"context_documents": "notes"},
    {"context_documents": ["notes"]},
    {"context_documents": [{"content": "no name"}]},
    {"context_documents": [{"name": "", "content": "c"}]},
    {"context_documents": [{"name": "n"}]},
    {"context_documents": [{"name": "n", "content": 5}]},
    {"context_documents": [{"name": "n", "content": "c", "url": "http://x"}]},
    {"context_documents": [{"name": f"n{i}", "content": "c"} for i in range(21)]},
    {"messages": []},
    {"title": "Fine", "config": {"temperature": 3}},
])
def test_patch_rejects_bad_input_and_changes_nothing(client, body):
    doc = make_document(client)
    session = make_session(client, doc, title="Original", model="gpt-4o")
    resp = client.patch(f"/api/sessions/{session['id']}", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"
    assert client.get(f"/api/sessions/{session['id']}").get_json() == session


# -- delete ------------------------------------------------------------------------------------

def test_delete_session(client, data_dir):
    doc = make_document(client)
    session = make_session(client, doc)
    other = make_session(client, doc)
    _send(client, session)
    assert _session_files(data_dir, session["id"])

    resp = client.delete(f"/api/sessions/{session['id']}")
    assert resp.status_code == 200
    assert resp.get_json() == {"deleted": session["id"]}
    assert client.get(f"/api/sessions/{session['id']}").status_code == 404
    assert _session_files(data_dir, session["id"]) == []
    assert _section(client, doc)["session_ids"] == [other["id"]]
    assert [s["id"] for s in client.get(_sessions_url(doc)).get_json()["sessions"]] == [other["id"]]
    assert client.delete(f"/api/sessions/{session['id']}").status_code == 404


# -- messages ------------------------------------------------------------------------------------

def test_send_message_with_the_offline_assistant(client):
    doc = make_document(client)
    session = make_session(client, doc)
    body = _send(client, session, "How big is the budget?")
    user, reply = body["user_message"], body["assistant_message"]
    assert (user["role"], user["content"], user["status"]) == ("user", "How big is the budget?", "complete")
    assert user["section_version"] == 1
    assert user["parent_id"] is None
    assert reply["role"] == "assistant"
    assert reply["status"] == "complete"
    assert reply["parent_id"] == user["id"]
    assert reply["model"] == "offline-assistant"
    assert "The budget is 40,000 euros over two years." in reply["content"]
    assert "offline" in reply["notice"] and "offline" not in reply["content"]  # said beside the reply, not in it
    assert "<strong>Summary</strong>" in reply["html"]
    receipt = reply["receipt"]
    assert receipt["section_version"] == 1
    assert receipt["messages_kept"] == 1
    assert receipt["messages_dropped"] == 0
    assert isinstance(receipt["prompt_tokens_estimate"], int) and receipt["prompt_tokens_estimate"] > 0
    stored = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    # The chat's view adds each message's place among its siblings (branches).
    assert [(m.pop("sibling_ids"), m.pop("sibling_index")) for m in stored] == [([user["id"]], 0), ([reply["id"]], 0)]
    assert stored == [user, reply]


def test_user_message_records_the_section_version_it_was_based_on(client):
    doc = make_document(client)
    session = make_session(client, doc)
    section_id = doc["sections"][0]["id"]
    client.patch(f"/api/documents/{doc['id']}/sections/{section_id}", json={"content": "Budget: 50,000 euros.", "version": 1})
    body = _send(client, session, "What budget?")
    assert body["user_message"]["section_version"] == 2
    assert body["assistant_message"]["receipt"]["section_version"] == 2
    assert "Budget: 50,000 euros." in body["assistant_message"]["content"]


def test_second_message_follows_the_first_and_keeps_history(client):
    doc = make_document(client)
    session = make_session(client, doc)
    first = _send(client, session, "What is the budget?")
    second = _send(client, session, "And the duration?")
    assert second["user_message"]["parent_id"] == first["assistant_message"]["id"]
    assert second["assistant_message"]["receipt"]["messages_kept"] == 3


def test_an_unavailable_model_falls_back_and_the_receipt_says_so(client):
    doc = make_document(client)
    session = make_session(client, doc, model="gpt-4o")
    reply = _send(client, session)["assistant_message"]
    assert reply["model"] == "offline-assistant"
    assert "gpt-4o" in reply["receipt"]["notice"]


@pytest.mark.parametrize("body", [
    {},
    {"content": ""},
    {"content": "   \n\t "},
    {"content": None},
    {"content": 42},
    {"content": ["hi"]},
    {"content": {"text": "hi"}},
    {"content": True},
    {"content": "x" * 101},
    {"content": "hi", "role": "system"},
])
def test_bad_message_is_400_and_nothing_is_stored(make_app, data_dir, body):
    client = make_app(MAX_MESSAGE_CHARS=100).test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    resp = client.post(f"/api/sessions/{session['id']}/messages", json=body)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request"
    assert "field" in error
    assert client.get(f"/api/sessions/{session['id']}").get_json()["messages"] == []
    assert _session_files(data_dir, session["id"]) == [f"{session['id']}.json"]


def test_a_message_at_the_limit_is_accepted(make_app):
    client = make_app(MAX_MESSAGE_CHARS=100).test_client()
    session = make_session(client, make_document(client))
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "x" * 100}).status_code == 201


# -- regenerate and stop ------------------------------------------------------------------------

def test_regenerate_answers_the_last_question_again(client):
    doc = make_document(client)
    session = make_session(client, doc)
    first = _send(client, session)
    resp = client.post(f"/api/sessions/{session['id']}/regenerate")
    assert resp.status_code == 201
    again = resp.get_json()
    assert again["user_message"]["id"] == first["user_message"]["id"]
    assert again["assistant_message"]["id"] != first["assistant_message"]["id"]
    assert again["assistant_message"]["parent_id"] == first["user_message"]["id"]
    # Nothing is deleted: the earlier reply stays, so branches remain possible.
    view = client.get(f"/api/sessions/{session['id']}").get_json()
    assert view["message_count"] == 3
    assert [m["id"] for m in view["messages"]] == [first["user_message"]["id"], again["assistant_message"]["id"]]
    assert view["messages"][1]["sibling_ids"] == [first["assistant_message"]["id"], again["assistant_message"]["id"]]
    # The offline assistant is deterministic: same question, same section, same words.
    assert again["assistant_message"]["content"] == first["assistant_message"]["content"]


def test_regenerate_with_nothing_to_answer_is_400(client):
    session = make_session(client, make_document(client))
    resp = client.post(f"/api/sessions/{session['id']}/regenerate")
    assert resp.status_code == 400
    assert client.get(f"/api/sessions/{session['id']}").get_json()["messages"] == []


def test_regenerate_rejects_a_body_with_fields(client):
    session = make_session(client, make_document(client))
    _send(client, session)
    assert client.post(f"/api/sessions/{session['id']}/regenerate", json={"content": "x"}).status_code == 400


def test_stop_when_idle(client):
    session = make_session(client, make_document(client))
    resp = client.post(f"/api/sessions/{session['id']}/stop")
    assert resp.status_code == 200
    assert resp.get_json() == {"stopped": False}


class GatedBackend:
    """A model that says one word, then waits until released or cancelled."""

    offline = False

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def models(self) -> list[str]:
        return ["gated"]

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator:
        yield TextDelta("Partial ")
        self.started.set()
        while not (cancel.is_set() or self.release.is_set()):
            cancel.wait(0.01)
        if not cancel.is_set():
            yield TextDelta("answer.")
        yield Finish("stop")


def test_generating_busy_and_stop(make_app):
    backend = GatedBackend()
    app = make_app(LLM_BACKEND=backend)
    client = app.test_client()
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}"
    result: dict = {}

    def post() -> None:
        resp = app.test_client().post(f"{url}/messages", json={"content": "Go"})
        result["status"], result["body"] = resp.status_code, resp.get_json()

    worker = threading.Thread(target=post)
    worker.start()
    try:
        assert backend.started.wait(10)
        during = client.get(url).get_json()
        assert during["generating"] is True
        assert [m["role"] for m in during["messages"]] == ["user", "assistant"]
        busy = client.post(f"{url}/messages", json={"content": "Again"})
        assert busy.status_code == 409
        assert busy.get_json()["error"]["code"] == "busy"
        # Half a reply cannot be applied to the section.
        streaming = during["messages"][1]
        assert streaming["status"] == "streaming"
        early = client.post(f"{url}/apply", json={"message_id": streaming["id"], "mode": "replace"})
        assert early.status_code == 409
        assert early.get_json()["error"]["code"] == "conflict"
        assert client.post(f"{url}/stop").get_json() == {"stopped": True}
    finally:
        backend.release.set()
        worker.join(10)
    assert result["status"] == 201
    reply = result["body"]["assistant_message"]
    assert reply["status"] == "stopped"
    assert reply["content"] == "Partial "
    after = client.get(url).get_json()
    assert after["generating"] is False
    assert [m["content"] for m in after["messages"]] == ["Go", "Partial "]
    assert client.get(f"/api/documents/{session['document_id']}").get_json()["sections"][0]["version"] == 1
    # Once stopped, what arrived may be applied.
    applied = client.post(f"{url}/apply", json={"message_id": reply["id"], "mode": "replace"})
    assert applied.status_code == 200
    assert applied.get_json()["section"]["content"] == "Partial "


# -- apply ----------------------------------------------------------------------------------------

def test_apply_replace_and_undo(client):
    doc = make_document(client)
    session = make_session(client, doc)
    reply = _send(client, session)["assistant_message"]
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    original = doc["sections"][0]["content"]

    resp = client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": "replace"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["previous_content"] == original
    assert body["previous_version"] == 1
    assert body["section"]["content"] == reply["content"]
    assert body["section"]["version"] == 2
    assert body["section"]["status"] == "generated"
    assert _section(client, doc) == body["section"]

    versions = client.get(f"{section_url}/versions").get_json()["versions"]
    assert versions[-1]["version"] == 2
    assert versions[-1]["source"] == {
        "kind": "chat", "message_id": reply["id"], "session_id": session["id"], "mode": "replace", "user": "local",
    }
    # The session now shows that the section moved on.
    assert client.get(f"/api/sessions/{session['id']}").get_json()["section_version"] == 2

    # Undo is a revert to the version before the apply.
    undo = client.post(f"{section_url}/versions/{body['previous_version']}/revert")
    assert undo.status_code == 200
    assert undo.get_json()["section"]["content"] == original
    assert undo.get_json()["section"]["version"] == 3


def test_apply_append(client):
    doc = make_document(client)
    session = make_session(client, doc)
    reply = _send(client, session)["assistant_message"]
    original = doc["sections"][0]["content"]
    resp = client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": "append"})
    assert resp.status_code == 200
    section = resp.get_json()["section"]
    assert section["content"] == f"{original}\n\n{reply['content']}"
    assert resp.get_json()["previous_content"] == original


def test_apply_append_to_an_empty_section(client):
    doc = make_document(client, sections=[{"title": "Empty"}])
    session = make_session(client, doc)
    reply = _send(client, session, "Help me start")["assistant_message"]
    assert "empty" in reply["content"]
    resp = client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": "append"})
    assert resp.get_json()["section"]["content"] == reply["content"]


def test_apply_that_would_overflow_the_section_is_400(make_app):
    client = make_app(MAX_SECTION_CHARS=120).test_client()
    doc = make_document(client, sections=[{"title": "S", "content": "A short section about the budget."}])
    session = make_session(client, doc)
    reply = _send(client, session)["assistant_message"]
    assert len(reply["content"]) > 120
    resp = client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": "replace"})
    assert resp.status_code == 400
    assert _section(client, doc)["version"] == 1


@pytest.mark.parametrize(("which", "mode", "status"), [
    ("user", "replace", 404),
    ("unknown", "replace", 404),
    ("not-an-id", "append", 404),
    ("other-session", "replace", 404),
    ("assistant", "prepend", 400),
    ("assistant", None, 400),
    ("missing", "replace", 400),
    ("number", "replace", 400),
])
def test_apply_rejects(client, which, mode, status):
    doc = make_document(client)
    session = make_session(client, doc)
    sent = _send(client, session)
    other = make_session(client, doc)
    other_reply = _send(client, other)["assistant_message"]
    message_id = {
        "user": sent["user_message"]["id"],
        "unknown": UNKNOWN,
        "not-an-id": "../../etc/passwd",
        "other-session": other_reply["id"],
        "assistant": sent["assistant_message"]["id"],
        "number": 5,
    }.get(which)
    body = {"mode": mode}
    if which != "missing":
        body["message_id"] = message_id
    resp = client.post(f"/api/sessions/{session['id']}/apply", json=body)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == ("not_found" if status == 404 else "bad_request")
    assert _section(client, doc) == doc["sections"][0] | {"session_ids": [session["id"], other["id"]]}


# -- restart --------------------------------------------------------------------------------------

def test_everything_acknowledged_is_there_after_a_restart(make_app):
    client = make_app().test_client()
    doc = make_document(client)
    extra = client.post(f"/api/documents/{doc['id']}/sections", json={"title": "Risks", "position": 0}).get_json()
    client.post(f"/api/documents/{doc['id']}/sections/{extra['id']}/move", json={"direction": "down"})
    client.patch(f"/api/documents/{doc['id']}", json={"description": "Due in May"})
    session = make_session(client, doc, 0, title="Budget", temperature=0.4)
    client.patch(f"/api/sessions/{session['id']}", json={
        "variables": {"tone": "formal"}, "context_documents": [{"name": "Call", "content": "Max 50k."}],
    })
    sent = _send(client, session)
    client.post(f"/api/sessions/{session['id']}/apply",
                json={"message_id": sent["assistant_message"]["id"], "mode": "append"})
    untouched = make_session(client, doc, 1, title="Never opened after restart")
    deleted = make_session(client, doc, 1)
    client.delete(f"/api/sessions/{deleted['id']}")

    expected_doc = client.get(f"/api/documents/{doc['id']}").get_json()
    expected_session = client.get(f"/api/sessions/{session['id']}").get_json()
    expected_untouched = client.get(f"/api/sessions/{untouched['id']}").get_json()
    expected_versions = client.get(
        f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/versions").get_json()
    expected_list = client.get("/api/documents").get_json()

    again = make_app().test_client()
    assert again.get("/api/documents").get_json() == expected_list
    assert again.get(f"/api/documents/{doc['id']}").get_json() == expected_doc
    assert again.get(f"/api/sessions/{untouched['id']}").get_json() == expected_untouched
    assert again.get(f"/api/sessions/{session['id']}").get_json() == expected_session
    assert again.get(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/versions").get_json() \
        == expected_versions
    assert again.get(f"/api/sessions/{deleted['id']}").status_code == 404
    assert [s["title"] for s in expected_doc["sections"]] == ["Summary", "Risks", "Methods"]
    # The restarted app carries on where the first left off.
    more = _send(again, expected_session, "And the duration?")
    assert more["user_message"]["parent_id"] == sent["assistant_message"]["id"]


# -- deleting a chat that is busy ------------------------------------------------------------------

def _delete_url(which: str, doc: dict, session: dict) -> str:
    return {
        "session": f"/api/sessions/{session['id']}",
        "section": f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}",
        "document": f"/api/documents/{doc['id']}",
    }[which]


@pytest.mark.parametrize("which", ["session", "section", "document"])
def test_deleting_stops_a_running_generation(make_app, data_dir, which):
    """No worker keeps spending model tokens on, or writing to, a chat that is gone."""
    backend = GatedBackend()
    app = make_app(LLM_BACKEND=backend)
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    result: dict = {}

    def post() -> None:
        resp = app.test_client().post(f"/api/sessions/{session['id']}/messages", json={"content": "Go"})
        result["status"] = resp.status_code

    worker = threading.Thread(target=post)
    worker.start()
    try:
        assert backend.started.wait(10)
        assert client.delete(_delete_url(which, doc, session)).status_code == 200
        # The model was cancelled, not released: the round ended because of the delete.
        assert services(app).engine.running(session["id"]) is None
    finally:
        backend.release.set()
        worker.join(10)
    assert result["status"] == 201
    assert client.get(f"/api/sessions/{session['id']}").status_code == 404
    assert _session_files(data_dir, session["id"]) == []


@pytest.mark.parametrize("which", ["session", "section", "document"])
def test_deleting_stops_notification_streams(make_app, which):
    from vice_ai.tools import ToolContext

    app = make_app()
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    streams = services(app).streams
    ctx = ToolContext(session["id"], doc["id"], doc["sections"][0]["id"], services(app).state)
    streams.start(ctx, "Tell me when the budget changes", 3600)
    assert streams.running(session["id"])
    assert client.delete(_delete_url(which, doc, session)).status_code == 200
    assert streams.running(session["id"]) == []
