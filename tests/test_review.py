"""Reviewing a change before it is saved: the review of a reply or proposal, reviewed saves, version diffs, hashes."""
from __future__ import annotations

import json

import pytest
from conftest import make_document, make_session, model_config
from fake_openai import Reply, ToolCall

ORIGINAL = "We ask for funding. The budget is 40,000 euros over two years."
PROPOSED = "We request funding. The budget is 50,000 euros over two years."


@pytest.fixture
def setup(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client, sections=[{"title": "Summary", "content": ORIGINAL}])
    session = make_session(client, doc)
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    return client, doc, session, section_url, fake_openai


def send(client, session, fake, text=PROPOSED):
    fake.default = Reply(text=text)
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Tighten it"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["assistant_message"]


def changed(ops):
    return [(op["op"], op["old"], op["new"]) for op in ops if op["op"] != "equal"]


def test_a_reply_is_reviewed_then_saved_as_reviewed_in_one_version(setup):
    client, doc, session, section_url, fake = setup
    reply = send(client, session, fake)
    review = client.post(f"/api/sessions/{session['id']}/review", json={"message_id": reply["id"]})
    assert review.status_code == 200, review.get_json()
    body = review.get_json()
    assert (body["old"], body["new"], body["version"], body["changes"]) == (ORIGINAL, PROPOSED, 1, 2)
    assert changed(body["ops"]) == [("replace", "ask for", "request"), ("replace", "40,000", "50,000")]
    assert body["source"] == {"kind": "chat", "message_id": reply["id"], "session_id": session["id"],
                              "mode": "replace"}
    assert client.get(f"{section_url}/versions").get_json()["current_version"] == 1  # a review writes nothing

    # The user keeps "ask for", takes "50,000" and edits the result.
    reviewed = "We ask for funding. The budget is 50,000 euros over three years."
    saved = client.post(f"/api/sessions/{session['id']}/apply",
                        json={"message_id": reply["id"], "mode": "replace", "content": reviewed, "version": 1})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["section"]["content"] == reviewed
    assert (saved.get_json()["previous_version"], saved.get_json()["section"]["version"]) == (1, 2)
    versions = client.get(f"{section_url}/versions").get_json()["versions"]
    assert len(versions) == 2
    assert versions[-1]["source"] == {"kind": "chat", "message_id": reply["id"], "session_id": session["id"],
                                      "mode": "replace", "reviewed": True, "user": "local"}
    assert versions[-1]["summary"] == "Applied a chat reply"


def test_an_append_review_shows_the_text_after_the_section(setup):
    client, doc, session, section_url, fake = setup
    reply = send(client, session, fake, "A closing line.")
    body = client.post(f"/api/sessions/{session['id']}/review",
                       json={"message_id": reply["id"], "mode": "append"}).get_json()
    assert body["new"] == f"{ORIGINAL}\n\nA closing line."
    assert changed(body["ops"]) == [("insert", "", "\n\nA closing line.")]


def test_a_reviewed_save_on_a_moved_section_is_a_conflict_that_loses_nothing(setup):
    client, doc, session, section_url, fake = setup
    reply = send(client, session, fake)
    assert client.patch(section_url, json={"version": 1, "content": "Typed meanwhile."}).status_code == 200
    resp = client.post(f"/api/sessions/{session['id']}/apply",
                       json={"message_id": reply["id"], "mode": "replace", "content": "Reviewed.", "version": 1})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["current_version"] == 2 and error["section"]["content"] == "Typed meanwhile."
    assert client.get(f"{section_url}/versions").get_json()["current_version"] == 2


def test_reviewed_content_needs_the_version(setup):
    client, doc, session, section_url, fake = setup
    reply = send(client, session, fake)
    resp = client.post(f"/api/sessions/{session['id']}/apply",
                       json={"message_id": reply["id"], "mode": "replace", "content": "Reviewed."})
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "version"


def test_a_review_names_a_reply_or_a_suggestion(setup):
    client, doc, session, section_url, fake = setup
    resp = client.post(f"/api/sessions/{session['id']}/review", json={})
    assert resp.status_code == 400
    resp = client.post(f"/api/sessions/{session['id']}/review", json={"message_id": "nope"})
    assert resp.status_code == 404


def test_a_proposed_edit_is_reviewed_and_accepted_as_edited(setup):
    client, doc, session, section_url, fake = setup
    fake.script(Reply(text="", tool_calls=[ToolCall(
        "propose_section_edit", json.dumps({"new_content": PROPOSED, "summary": "Tightened"}))]),
        Reply(text="I proposed a tighter version."))
    assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Tighten"}).status_code == 201
    [suggestion] = client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    body = client.post(f"/api/sessions/{session['id']}/review", json={"suggestion_id": suggestion["id"]}).get_json()
    assert (body["new"], body["summary"], body["source"]["suggestion_id"]) == (PROPOSED, "Tightened", suggestion["id"])
    reviewed = "We request funding. The budget is 40,000 euros over two years."
    resp = client.post(f"/api/sessions/{session['id']}/suggestions/{suggestion['id']}/accept",
                       json={"content": reviewed, "version": 1})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["section"]["content"] == reviewed
    last = client.get(f"{section_url}/versions").get_json()["versions"][-1]
    assert last["source"]["suggestion_id"] == suggestion["id"] and last["source"]["reviewed"] is True
    [decided] = client.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    assert decided["status"] == "accepted"


def test_version_diffs_against_the_one_before_or_any(setup):
    client, doc, session, section_url, fake = setup
    client.patch(section_url, json={"version": 1, "content": ORIGINAL.replace("two", "three")})
    client.patch(section_url, json={"version": 2, "content": ORIGINAL.replace("two", "four")})
    body = client.get(f"{section_url}/versions/3/diff").get_json()
    assert (body["version"], body["against"], changed(body["ops"])) == (3, 2, [("replace", "three", "four")])
    assert body["source"]["kind"] == "edit"
    body = client.get(f"{section_url}/versions/3/diff?against=1").get_json()
    assert changed(body["ops"]) == [("replace", "two", "four")]
    first = client.get(f"{section_url}/versions/1/diff").get_json()
    assert (first["against"], changed(first["ops"])) == (0, [("insert", "", ORIGINAL)])
    assert client.get(f"{section_url}/versions/9/diff").status_code == 404
    assert client.get(f"{section_url}/versions/3/diff?against=7").status_code == 404


def test_a_reviewed_revert_saves_the_reviewed_text_as_a_revert(setup):
    client, doc, session, section_url, fake = setup
    client.patch(section_url, json={"version": 1, "content": PROPOSED})
    reviewed = "We request funding. The budget is 40,000 euros over two years."
    resp = client.post(f"{section_url}/versions/1/revert", json={"content": reviewed, "version": 2})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["section"]["content"] == reviewed and resp.get_json()["previous_content"] == PROPOSED
    last = client.get(f"{section_url}/versions").get_json()["versions"][-1]
    assert last["source"] == {"kind": "revert", "from_version": 1, "reviewed": True, "user": "local"}
    stale = client.post(f"{section_url}/versions/1/revert", json={"content": "x", "version": 2})
    assert stale.status_code == 409 and stale.get_json()["error"]["current_version"] == 3
    assert client.post(f"{section_url}/versions/1/revert").get_json()["section"]["content"] == ORIGINAL


def test_the_diff_of_two_texts(client):
    resp = client.post("/api/diff", json={"old": "A red car.", "new": "A blue car!"})
    assert resp.status_code == 200
    assert changed(resp.get_json()["ops"]) == [("replace", "red", "blue"), ("replace", ".", "!")]


def test_equal_texts_have_equal_hashes_and_replies_know_the_one_they_saw(setup):
    client, doc, session, section_url, fake = setup
    reply = send(client, session, fake)
    first = client.get(section_url.rsplit("/sections", 1)[0]).get_json()["sections"][0]
    assert reply["receipt"]["section_hash"] == first["content_hash"]
    client.patch(section_url, json={"version": 1, "content": "Other."})
    back = client.post(f"{section_url}/versions/1/revert").get_json()["section"]
    assert back["version"] == 3 and back["content_hash"] == first["content_hash"]


def test_a_reviewed_version_and_its_source_survive_a_restart(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client, sections=[{"title": "Summary", "content": ORIGINAL}])
    session = make_session(client, doc)
    reply = send(client, session, fake_openai)
    client.post(f"/api/sessions/{session['id']}/apply",
                json={"message_id": reply["id"], "mode": "replace", "content": "Reviewed.", "version": 1})
    again = make_app(**model_config(fake_openai)).test_client()
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    last = again.get(f"{section_url}/versions").get_json()["versions"][-1]
    assert (last["content"], last["source"]["message_id"], last["source"]["reviewed"]) == ("Reviewed.", reply["id"], True)
    diff = again.get(f"{section_url}/versions/2/diff").get_json()
    assert (diff["old"], diff["new"]) == (ORIGINAL, "Reviewed.")
