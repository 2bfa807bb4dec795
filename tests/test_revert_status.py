"""Undo and revert bring a section back as it was, its status included, and its history says so."""
from __future__ import annotations

import pytest
from conftest import make_document, make_session, model_config
from fake_openai import Reply

from vice_ai.services import services

ORIGINAL = "We ask for funding."
REPLY = "We request funding."


@pytest.fixture
def setup(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client, sections=[{"title": "Summary", "content": ORIGINAL}])
    session = make_session(client, doc)
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    fake_openai.default = Reply(text=REPLY)
    return client, doc, session, section_url


def apply_reply(client, session, version):
    """Ask, review and apply the reply as reviewed (the page's way); answers the apply's JSON."""
    reply = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Tighten it"})
    assert reply.status_code == 201, reply.get_json()
    message_id = reply.get_json()["assistant_message"]["id"]
    review = client.post(f"/api/sessions/{session['id']}/review", json={"message_id": message_id}).get_json()
    saved = client.post(f"/api/sessions/{session['id']}/apply", json={
        "message_id": message_id, "mode": "replace", "content": review["new"], "version": version})
    assert saved.status_code == 200, saved.get_json()
    return saved.get_json()


def test_undo_of_an_apply_brings_back_the_status_from_before(setup, make_app, fake_openai):
    client, doc, session, section_url = setup
    assert client.patch(section_url, json={"version": 1, "status": "approved"}).status_code == 200
    applied = apply_reply(client, session, 1)
    assert (applied["section"]["status"], applied["previous_version"]) == ("generated", 1)

    undone = client.post(f"{section_url}/versions/{applied['previous_version']}/revert")  # the page's Undo
    assert undone.status_code == 200, undone.get_json()
    section = undone.get_json()["section"]
    assert (section["content"], section["status"], section["version"]) == (ORIGINAL, "approved", 3)
    last = client.get(f"{section_url}/versions").get_json()["versions"][-1]
    assert last["summary"] == "Reverted to version 1; status back to approved"
    assert (last["status"], last["previous_status"]) == ("approved", "generated")

    # As it was after a restart too, and the document shows it.
    again = make_app(**model_config(fake_openai)).test_client()
    shown = again.get(f"/api/documents/{doc['id']}").get_json()["sections"][0]
    assert (shown["status"], shown["version"]) == ("approved", 3)
    # Redo (revert to the applied version) is "generated" again.
    redone = again.post(f"{section_url}/versions/2/revert").get_json()["section"]
    assert (redone["content"], redone["status"]) == (REPLY, "generated")


def test_a_history_revert_brings_back_the_status_that_version_last_had(setup):
    client, _doc, _session, section_url = setup
    # v1 is "reviewed" by the time v2 replaces it; v2 ("draft" again, in the same change) is then "approved".
    client.patch(section_url, json={"version": 1, "status": "reviewed"})
    v2 = client.patch(section_url, json={"version": 1, "content": "Second.", "status": "draft"}).get_json()
    assert v2["status"] == "draft"
    client.patch(section_url, json={"version": 2, "status": "approved"})
    client.patch(section_url, json={"version": 2, "content": "Third."})
    versions = client.get(f"{section_url}/versions").get_json()["versions"]
    assert [(v["status"], v.get("previous_status")) for v in versions] == [
        ("draft", None), ("draft", "reviewed"), ("approved", "approved")]

    back = client.post(f"{section_url}/versions/1/revert", json={"content": "First, reviewed.", "version": 3})
    assert back.get_json()["section"]["status"] == "reviewed"
    back = client.post(f"{section_url}/versions/2/revert").get_json()["section"]
    assert (back["content"], back["status"]) == ("Second.", "approved")
    # The current text again: nothing replaced it, so the status stays and the summary says only the revert.
    same = client.post(f"{section_url}/versions/5/revert").get_json()["section"]
    assert same["status"] == "approved"
    assert client.get(f"{section_url}/versions").get_json()["versions"][-1]["summary"] == "Reverted to version 5"


def test_a_version_from_before_statuses_were_kept_leaves_the_status(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client, sections=[{"title": "Summary", "content": ORIGINAL}])
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    client.patch(section_url, json={"version": 1, "status": "reviewed"})
    client.patch(section_url, json={"version": 1, "content": "Second.", "status": "approved"})
    with app.app_context():  # as a file written before versions kept the status
        with services().state.edit_document(doc["id"]) as stored:
            for version in stored.sections[0].history:
                version.pop("status", None)
                version.pop("previous_status", None)
    back = client.post(f"{section_url}/versions/1/revert").get_json()["section"]
    assert (back["content"], back["status"]) == (ORIGINAL, "approved")
    assert client.get(f"{section_url}/versions").get_json()["versions"][-1]["summary"] == "Reverted to version 1"
