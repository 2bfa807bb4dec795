"""Instruction presets over the API: built-in, own, shared with a document's readers; chats started from them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from auth_helpers import password_app, two_users
from conftest import make_document, make_session, model_config
from fake_openai import Reply

BUILTINS = ["builtin:tighten", "builtin:fact-check", "builtin:next-part", "builtin:summarise", "builtin:tone",
            "builtin:translate"]


def sessions_url(doc: dict, index: int = 0) -> str:
    return f"/api/documents/{doc['id']}/sections/{doc['sections'][index]['id']}/sessions"


def ids(client, document_id: str | None = None) -> list[str]:
    url = "/api/presets" + (f"?document_id={document_id}" if document_id else "")
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_json()
    return [p["id"] for p in resp.get_json()["presets"]]


def create(client, **body) -> dict:
    resp = client.post("/api/presets", json={"name": "Plain words", "system_prompt": "Use plain words.", **body})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.fixture
def users(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    return app, alice, bob


def test_builtin_presets_are_listed_and_read_only(client):
    presets = client.get("/api/presets").get_json()["presets"]
    assert [p["id"] for p in presets] == BUILTINS
    assert all(p["kind"] == "builtin" and p["editable"] is False and p["system_prompt"].strip() for p in presets)
    tighten = presets[0]
    assert tighten["name"] == "Tighten" and 0 <= tighten["temperature"] <= 2
    for method in ("patch", "delete"):
        resp = getattr(client, method)("/api/presets/builtin:tighten", json={"name": "Mine now"} if method == "patch"
                                       else None)
        assert resp.status_code == 404 and "Built-in" in resp.get_json()["error"]["message"]
    assert client.get("/api/presets").get_json()["presets"][0] == tighten


def test_own_presets_are_created_changed_and_deleted(client, data_dir):
    made = create(client, temperature=0.4, tools=["read_section", "read_section"], model="fake-large")
    assert made["kind"] == "own" and made["editable"] and made["tools"] == ["read_section"]
    assert ids(client) == [*BUILTINS, made["id"]]
    # The file is on disk, one per preset.
    assert json.loads((Path(data_dir) / "presets" / f"{made['id']}.json").read_text())["data"]["name"] == "Plain words"

    changed = client.patch(f"/api/presets/{made['id']}", json={"name": "Plainer", "temperature": None})
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["name"], body["temperature"], body["model"], body["system_prompt"]) == (
        "Plainer", None, "fake-large", "Use plain words.")
    # A null name keeps the name; null tools go back to the chat's default.
    again = client.patch(f"/api/presets/{made['id']}", json={"name": None, "tools": None}).get_json()
    assert again["name"] == "Plainer" and again["tools"] is None

    assert client.delete(f"/api/presets/{made['id']}").get_json() == {"deleted": made["id"]}
    assert ids(client) == BUILTINS
    assert client.delete(f"/api/presets/{made['id']}").status_code == 404
    assert not (Path(data_dir) / "presets" / f"{made['id']}.json").exists()
    assert not (Path(data_dir) / "locks" / f"presets-{made['id']}.lock").exists()


@pytest.mark.parametrize("body, field", [
    ({"name": "   ", "system_prompt": "x"}, "name"),
    ({"name": "n" * 101}, "name"),
    ({"system_prompt": "no name"}, "name"),
    ({"name": "Hot", "temperature": 2.5}, "temperature"),
    ({"name": "Cold", "temperature": -0.1}, "temperature"),
    ({"name": "Long", "system_prompt": "x" * 20_001}, "system_prompt"),
    ({"name": "Tools", "tools": ["rm_rf"]}, "tools"),
    ({"name": "Model", "model": "m" * 201}, "model"),
    ({"name": "Model", "model": " "}, "model"),
    ({"name": "Extra", "owner": "someone"}, "owner"),
])
def test_invalid_presets_are_refused(client, body, field):
    resp = client.post("/api/presets", json=body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    assert ids(client) == BUILTINS


def test_unknown_preset_ids_are_404(client):
    doc = make_document(client)
    for preset_id in ("2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11", "builtin:nope", "../../etc"):
        started = client.post(sessions_url(doc), json={"preset_id": preset_id})
        assert started.status_code == 404 and started.get_json()["error"]["field"] == "preset_id"
        assert client.patch(f"/api/presets/{preset_id}", json={"name": "x"}).status_code == 404
        assert client.delete(f"/api/presets/{preset_id}").status_code == 404
    assert client.get(sessions_url(doc)).get_json()["sessions"] == []


def test_a_chat_from_a_preset_copies_its_settings_and_the_model_gets_them(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    fake_openai.default = Reply(text="Done.")
    doc = make_document(client)
    preset = create(client, system_prompt="Answer like a pirate.", temperature=1.3, model="fake-large", tools=[])
    session = make_session(client, doc, preset_id=preset["id"])
    assert session["config"] == {"preset_id": preset["id"], "preset_name": "Plain words",
                                 "system_prompt": "Answer like a pirate.", "temperature": 1.3, "model": "fake-large",
                                 "tools": []}
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hi"}).status_code == 201
    sent = fake_openai.chat_requests[-1].json
    assert sent["messages"][0]["content"].startswith("Answer like a pirate.")
    assert (sent["model"], sent["temperature"]) == ("fake-large", 1.3)
    assert "tools" not in sent

    # Editing the preset later does not change the chat.
    client.patch(f"/api/presets/{preset['id']}", json={"system_prompt": "Answer like a poet."})
    assert client.get(f"/api/sessions/{session['id']}").get_json()["config"]["system_prompt"] == "Answer like a pirate."
    client.delete(f"/api/presets/{preset['id']}")
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Again"})
    assert fake_openai.chat_requests[-1].json["messages"][0]["content"].startswith("Answer like a pirate.")

    # Fields given with the preset win over it; a built-in works the same way.
    other = make_session(client, doc, preset_id="builtin:summarise", temperature=0.9)
    assert other["config"]["temperature"] == 0.9 and other["config"]["preset_name"] == "Summarise"
    assert other["config"]["system_prompt"].startswith("You summarise")


def test_the_chat_settings_can_be_edited_after_a_preset(client):
    doc = make_document(client)
    session = make_session(client, doc, preset_id="builtin:translate")
    resp = client.patch(f"/api/sessions/{session['id']}", json={"config": {
        "system_prompt": "Translate into French.", "temperature": 0.1, "tools": ["read_section", "list_sections"]}})
    assert resp.status_code == 200
    config = resp.get_json()["config"]
    assert (config["system_prompt"], config["temperature"], config["tools"], config["preset_id"]) == (
        "Translate into French.", 0.1, ["read_section", "list_sections"], "builtin:translate")


def test_a_user_never_sees_another_users_private_preset(users):
    _, alice, bob = users
    private = create(alice, name="Alice's secret voice")
    assert private["id"] not in ids(bob)
    assert bob.patch(f"/api/presets/{private['id']}", json={"name": "Bob's"}).status_code == 404
    assert bob.delete(f"/api/presets/{private['id']}").status_code == 404
    own_doc = make_document(bob)
    started = bob.post(sessions_url(own_doc), json={"preset_id": private["id"]})
    assert started.status_code == 404
    assert started.get_json() == bob.post(sessions_url(own_doc), json={
        "preset_id": "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"}).get_json()
    # Not through a document of Alice's either, even one he may edit.
    doc = make_document(alice)
    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "edit"})
    assert private["id"] not in ids(bob, doc["id"])
    assert bob.post(sessions_url(doc), json={"preset_id": private["id"]}).status_code == 404
    assert alice.get("/api/presets").get_json()["presets"][-1]["name"] == "Alice's secret voice"


def test_a_shared_preset_is_listed_for_readers_usable_by_editors_and_editable_by_nobody_else(users):
    _, alice, bob = users
    doc, other = make_document(alice), make_document(alice, title="Another")
    shared = create(alice, name="House style", shared_documents=[doc["id"]])
    assert shared["shared_documents"] == [doc["id"]]

    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"})
    alice.put(f"/api/documents/{other['id']}/shares/bob", json={"access": "edit"})
    listed = bob.get(f"/api/presets?document_id={doc['id']}").get_json()["presets"]
    [seen] = [p for p in listed if p["id"] == shared["id"]]
    assert (seen["kind"], seen["editable"], seen["shared_by"], seen["shared_documents"]) == (
        "shared", False, "alice", [])
    assert shared["id"] not in ids(bob) and shared["id"] not in ids(bob, other["id"])
    # A reader cannot start chats at all; an editor can, from the shared preset.
    assert bob.post(sessions_url(doc), json={"preset_id": shared["id"]}).status_code == 404
    assert bob.post(sessions_url(other), json={"preset_id": shared["id"]}).status_code == 404
    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "edit"})
    started = bob.post(sessions_url(doc), json={"preset_id": shared["id"]})
    assert started.status_code == 201 and started.get_json()["config"]["system_prompt"] == "Use plain words."
    # Not his to change or delete.
    assert bob.patch(f"/api/presets/{shared['id']}", json={"name": "Bob's style"}).status_code == 404
    assert bob.delete(f"/api/presets/{shared['id']}").status_code == 404
    assert alice.get("/api/presets").get_json()["presets"][-1]["name"] == "House style"
    # Taken back by the owner: gone from his list.
    alice.patch(f"/api/presets/{shared['id']}", json={"shared_documents": []})
    assert shared["id"] not in ids(bob, doc["id"])
    # Unshare the document: he cannot ask for its presets at all.
    alice.delete(f"/api/documents/{doc['id']}/shares/bob")
    assert bob.get(f"/api/presets?document_id={doc['id']}").status_code == 404


def test_a_preset_is_shared_only_with_documents_its_owner_owns(users):
    _, alice, bob = users
    doc = make_document(alice)
    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "edit"})
    refused = bob.post("/api/presets", json={"name": "Sneaky", "shared_documents": [doc["id"]]})
    assert refused.status_code == 404 and refused.get_json()["error"]["field"] == "shared_documents"
    mine = create(bob)
    assert bob.patch(f"/api/presets/{mine['id']}", json={"shared_documents": [doc["id"]]}).status_code == 404
    assert bob.patch(f"/api/presets/{mine['id']}", json={"shared_documents": ["not-an-id"]}).status_code == 404
    assert [p["id"] for p in alice.get(f"/api/presets?document_id={doc['id']}").get_json()["presets"]] == BUILTINS


def test_presets_survive_a_restart(make_app, data_dir):
    app = password_app(make_app)
    alice, bob = two_users(app)
    doc = make_document(alice)
    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"})
    private = create(alice, name="Private", temperature=0.7, tools=["list_sections"])
    shared = create(alice, name="Shared", shared_documents=[doc["id"]])
    alice.patch(f"/api/presets/{private['id']}", json={"system_prompt": "Changed before the restart."})

    again = password_app(make_app)  # a new process over the same data folder
    from auth_helpers import signin
    alice2, bob2 = again.test_client(), again.test_client()
    assert signin(alice2, "alice").status_code == 200 and signin(bob2, "bob").status_code == 200
    mine = {p["id"]: p for p in alice2.get("/api/presets").get_json()["presets"]}
    assert mine[private["id"]]["system_prompt"] == "Changed before the restart."
    assert (mine[private["id"]]["temperature"], mine[private["id"]]["tools"]) == (0.7, ["list_sections"])
    assert mine[shared["id"]]["shared_documents"] == [doc["id"]]
    assert ids(bob2, doc["id"]) == [*BUILTINS, shared["id"]]
    assert private["id"] not in ids(bob2, doc["id"])


def test_a_corrupt_preset_file_is_quarantined_and_the_rest_load(client, data_dir):
    good, bad = create(client, name="Good"), create(client, name="Bad")
    (Path(data_dir) / "presets" / f"{bad['id']}.json").write_text("{not json")
    assert ids(client) == [*BUILTINS, good["id"]]
    assert list((Path(data_dir) / "quarantine" / "presets").iterdir())


def test_a_null_in_a_chats_settings_clears_it(client) -> None:
    doc = make_document(client)
    section = doc["sections"][0]["id"]
    chat = client.post(f"/api/documents/{doc['id']}/sections/{section}/sessions",
                       json={"temperature": 0.3, "system_prompt": "Be brief."}).get_json()
    answer = client.patch(f"/api/sessions/{chat['id']}", json={"config": {"temperature": None}})
    assert answer.status_code == 200
    assert "temperature" not in answer.get_json()["config"]
    assert answer.get_json()["config"]["system_prompt"] == "Be brief."  # missing: kept
    assert "temperature" not in client.get(f"/api/sessions/{chat['id']}").get_json()["config"]
