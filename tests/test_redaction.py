"""Secrets in chat messages are redacted before they are stored; only the live stream keeps the original."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from auth_helpers import connect_as
from conftest import make_document, make_session, model_config, ws_events
from fake_openai import Reply, ToolCall

from vice_ai.domain.models import Message
from vice_ai.housekeeping.redaction import redact, redact_json, redact_message

OPENAI_KEY = "sk-test-not-a-real-key-0123456789abcdef"
PROJECT_KEY = "sk-proj-Fake0123456789_abcdefGHIJKL-mnopqrstu"


def files_of(data_dir: str, session_id: str) -> str:
    """Everything on disk for a session: snapshot and journal."""
    folder = Path(data_dir) / "sessions"
    return "".join(p.read_text(errors="replace") for p in folder.glob(f"{session_id}.*"))


@pytest.mark.parametrize(("secret", "label"), [
    (OPENAI_KEY, "api key"),
    (PROJECT_KEY, "api key"),
    ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "api key"),
    ("AKIAIOSFODNN7EXAMPLE", "aws key"),
    ("ghp_" + "a1B2" * 9, "github token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github token"),
    ("xoxb-123456789012-abcdefghijkl", "slack token"),
    ("AIza" + "SyA1234567890abcdefghijklmnopqrstuv", "google api key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3\nxfn/ygWyF8PbnGy0AHB7\n-----END RSA PRIVATE KEY-----",
     "private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "private key"),  # cut off: still redacted
])
def test_each_kind_of_secret_is_redacted(secret, label):
    out = redact(f"Here it is: {secret}\n-- keep it safe.")
    if secret.startswith("-----BEGIN OPENSSH"):
        assert out == "Here it is: [redacted: private key]"  # no END line: everything after BEGIN goes
    else:
        assert out == f"Here it is: [redacted: {label}]\n-- keep it safe."


def test_bearer_tokens_keep_the_word_bearer():
    assert redact("Authorization: Bearer abc123DEF456ghi789") == "Authorization: Bearer [redacted: token]"


@pytest.mark.parametrize("text", [
    "Ask the task-force about the risk-assessment-framework-v2.",
    "We use sk-learn and scikit-learn.",
    "The AKIA prefix marks AWS keys.",
    "Bearer bonds were popular.",
    "Tokens like [redacted: api key] stay as they are.",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_a_streaming_reply_is_stored_only_up_to_its_last_whitespace():
    half = Message(role="assistant", content="Your key is sk-test-not-a-re", status="streaming")
    assert redact_message(half).content == "Your key is "
    done = Message(role="assistant", content=f"Your key is {OPENAI_KEY}", status="complete")
    assert redact_message(done).content == "Your key is [redacted: api key]"
    assert half.content == "Your key is sk-test-not-a-re"  # the caller's message is not changed


def test_a_user_message_is_stored_redacted_and_the_model_never_sees_the_key(make_app, fake_openai, data_dir):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(text="Noted."), Reply(text="Still noted."))
    sent = client.post(f"/api/sessions/{session['id']}/messages",
                       json={"content": f"My OpenAI key is {OPENAI_KEY} and the project one {PROJECT_KEY}."})
    assert sent.status_code == 201
    assert sent.get_json()["user_message"]["content"] == (
        "My OpenAI key is [redacted: api key] and the project one [redacted: api key].")
    on_disk = files_of(data_dir, session["id"])
    assert OPENAI_KEY not in on_disk and PROJECT_KEY not in on_disk and "[redacted: api key]" in on_disk
    first = json.dumps(fake_openai.requests[-1].json["messages"])
    assert OPENAI_KEY not in first and "[redacted: api key]" in first
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "And now?"})
    assert OPENAI_KEY not in json.dumps(fake_openai.requests[-1].json["messages"])
    restarted = make_app(**model_config(fake_openai)).test_client()
    stored = restarted.get(f"/api/sessions/{session['id']}").get_json()["messages"][0]["content"]
    assert "[redacted: api key]" in stored and OPENAI_KEY not in stored


def test_a_reply_streams_the_original_and_stores_it_redacted(make_app, fake_openai, data_dir, start_server):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    fake_openai.script(Reply(tokens=["Use ", "this: ", "ghp_" + "Zz9" * 12, " and ", "rotate it."]))
    ws = connect_as(server, session["id"])
    ws.send(json.dumps({"type": "send", "content": "Give me a token"}))
    events = ws_events(ws, lambda e: e["type"] in ("done", "error"))
    ws.close()
    streamed = "".join(e["text"] for e in events if e["type"] == "delta")
    assert "ghp_" + "Zz9" * 12 in streamed  # the user watching saw it live
    assert events[-1]["type"] == "done"
    assert events[-1]["message"]["content"] == "Use this: [redacted: github token] and rotate it."
    on_disk = files_of(data_dir, session["id"])
    assert "Zz9Zz9" not in on_disk and "[redacted: github token]" in on_disk
    exported = client.get(f"/api/documents/{session['document_id']}/export?format=json").get_data(as_text=True)
    assert "Zz9Zz9" not in exported


def test_tool_call_arguments_and_titles_are_redacted(make_app, fake_openai, data_dir):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc, title=f"Key {OPENAI_KEY}")
    assert session["title"] == "Key [redacted: api key]"
    fake_openai.script(
        Reply(text="", tool_calls=[ToolCall("search_document", json.dumps({"query": OPENAI_KEY}))]),
        Reply(text="Not found."))
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Search"}).status_code == 201
    assert OPENAI_KEY not in files_of(data_dir, session["id"])


AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "abc123DEF456ghi789jkl"


@pytest.mark.parametrize(("text", "stored"), [
    (f"my_{PROJECT_KEY}", "my_[redacted: api key]"),  # "_" is a word character: no \b before "sk-"
    (f"key_{AWS_KEY}_x", "key_[redacted: aws key]_x"),
    (f"token_ghp_{'a1B2' * 9}", "token_[redacted: github token]"),
    (f"Authorization: Bearer  {TOKEN}", "Authorization: Bearer  [redacted: token]"),  # two spaces
    (f"Authorization: Bearer\t{TOKEN}", "Authorization: Bearer\t[redacted: token]"),
    (f"Authorization:Bearer:{TOKEN}", "Authorization:Bearer:[redacted: token]"),
    (f"authorization: bearer={TOKEN}", "authorization: bearer=[redacted: token]"),
])
def test_secrets_glued_to_other_text_are_redacted(text, stored):
    assert redact(text) == stored


def test_json_values_are_redacted_at_every_depth():
    value = {"list": [1, None, True, {"deep": [f"x {OPENAI_KEY}"]}], OPENAI_KEY: "as a key", "n": 2.5}
    assert redact_json(value) == {"list": [1, None, True, {"deep": ["x [redacted: api key]"]}],
                                  "[redacted: api key]": "as a key", "n": 2.5}
    assert value["list"][3]["deep"] == [f"x {OPENAI_KEY}"]  # a copy: the caller's value is not changed


def test_a_proposed_text_keeps_only_the_secrets_the_section_already_holds():
    section = f"Call the API with Bearer {TOKEN}."
    proposed = f"Call the API with Bearer {TOKEN}, or use {OPENAI_KEY}."
    assert redact(proposed, keep=section) == f"Call the API with Bearer {TOKEN}, or use [redacted: api key]."


def all_files(data_dir: str) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(data_dir).rglob("*") if p.is_file())


def test_chat_settings_variables_and_context_set_over_the_api_are_stored_redacted(make_app, data_dir):
    client = make_app().test_client()
    doc = make_document(client)
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions"
    created = client.post(url, json={"system_prompt": f"Use the key {OPENAI_KEY} when asked."})
    assert created.status_code == 201, created.get_json()
    session_url = f"/api/sessions/{created.get_json()['id']}"
    changed = client.patch(session_url, json={
        "config": {"system_prompt": f"Send Authorization:Bearer:{TOKEN}"},
        "variables": {"creds": {"aws": [f"key_{AWS_KEY}_x"], "note": "plain"}, "count": 3},
        "context_documents": [{"name": f"keys {PROJECT_KEY}", "content": f"my_{PROJECT_KEY}"}],
    })
    assert changed.status_code == 200, changed.get_json()
    view = client.get(session_url).get_json()
    assert view["config"]["system_prompt"] == "Send Authorization:Bearer:[redacted: token]"
    assert view["variables"] == {"creds": {"aws": ["key_[redacted: aws key]_x"], "note": "plain"}, "count": 3}
    assert view["context_documents"] == [{"name": "keys [redacted: api key]", "content": "my_[redacted: api key]"}]
    on_disk = all_files(data_dir)
    for secret in (OPENAI_KEY, PROJECT_KEY, AWS_KEY, TOKEN):
        assert secret not in on_disk


def test_what_the_models_tools_store_is_redacted(make_app, fake_openai, data_dir):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = client.post("/api/documents", json={"title": "Ops", "sections": [
        {"title": "Access", "content": f"Our test account uses Bearer {TOKEN}."}]}).get_json()
    session = make_session(client, doc)
    fake_openai.script(
        Reply(text="", tool_calls=[
            ToolCall("set_session_variable", json.dumps({"name": "creds", "value": {"keys": [f"my_{OPENAI_KEY}"]}})),
            ToolCall("start_notification_stream", json.dumps({"goal": f"Watch for {AWS_KEY}", "interval_seconds": 3600})),
            ToolCall("propose_section_edit", json.dumps({
                "new_content": f"Our test account uses Bearer {TOKEN}; the admin one {PROJECT_KEY}.",
                "summary": f"Add {PROJECT_KEY}"})),
        ]),
        Reply(text="Done."))
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Go"}).status_code == 201
    view = client.get(f"/api/sessions/{session['id']}").get_json()
    assert view["variables"] == {"creds": {"keys": ["my_[redacted: api key]"]}}
    [stream] = client.get(f"/api/sessions/{session['id']}/streams").get_json()["streams"]
    assert stream["goal"] == "Watch for [redacted: aws key]"
    [suggestion] = client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    assert suggestion["summary"] == "Add [redacted: api key]"
    # The section's own text stays as the user wrote it; what the model added does not get in.
    assert suggestion["new_content"] == f"Our test account uses Bearer {TOKEN}; the admin one [redacted: api key]."
    on_disk = all_files(data_dir)
    for secret in (OPENAI_KEY, PROJECT_KEY, AWS_KEY):
        assert secret not in on_disk
