"""Asking about a selected passage: the reference checked, stored, shown, sent to the model; replacing only it."""
from __future__ import annotations

import json

import pytest
from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply

from vice_ai.domain.models import Section
from vice_ai.domain.passages import PassageMoved, fitted, locate, replace_passage

TEXT = "We ask for funding. The budget is 40,000 euros over two years. We report every six months."
PASSAGE = "The budget is 40,000 euros over two years."
START = TEXT.index(PASSAGE)


def _doc(client, content: str = TEXT) -> dict:
    return make_document(client, sections=[{"title": "Summary", "content": content}, {"title": "Other"}])


def _selection(doc: dict, text: str = PASSAGE, start: int = START, version: int = 1, index: int = 0) -> dict:
    return {"kind": "selection", "section_id": doc["sections"][index]["id"], "section_version": version,
            "start": start, "end": start + len(text), "text": text}


def _section_url(doc: dict) -> str:
    return f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"


def _current(client, doc: dict) -> dict:
    return client.get(f"/api/documents/{doc['id']}").get_json()["sections"][0]


def _edit(client, doc: dict, content: str) -> dict:
    version = _current(client, doc)["version"]
    resp = client.patch(_section_url(doc), json={"version": version, "content": content})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _ask(client, session: dict, ref: dict, content: str = "Rewrite this more plainly.") -> dict:
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": content, "references": [ref]})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# -- the reference: checked, stored, shown, kept after a restart ----------------------------------

def test_a_selection_is_stored_on_the_question_and_its_reply_and_survives_a_restart(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="The budget is 40,000 euros for two years."))
    ref = _selection(doc)
    body = _ask(client, session, ref)
    assert body["user_message"]["references"] == [ref]
    assert body["assistant_message"]["references"] == [ref]
    shown = client.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [m["references"] for m in shown] == [[ref], [ref]]

    again = make_app(**model_config(fake_openai)).test_client()
    shown = again.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [m["references"] for m in shown] == [[ref], [ref]]


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"text": "The budget is 40,000"}, 400, "references[0].text"),         # not the slice
    ({"start": START + 1}, 400, "references[0].text"),                      # shifted range
    ({"end": len(TEXT) + 5}, 400, "references[0].end"),                     # outside the text
    ({"start": 10, "end": 10}, 400, "references[0].end"),                   # empty
    ({"end": 0}, 400, "references[0].end"),                                 # schema: end >= 1
    ({"start": -1}, 400, "references[0].start"),
    ({"section_version": 7}, 409, "references[0].section_version"),        # a version it never had
    ({"section_version": 0}, 400, "references[0].section_version"),
    ({"kind": "file"}, 400, "references[0].kind"),
    ({"extra": 1}, 400, "references[0].extra"),
    ({"text": ""}, 400, "references[0].text"),
])
def test_a_wrong_selection_is_refused_and_nothing_is_stored(client, change, status, field):
    doc = _doc(client)
    session = make_session(client, doc)
    ref = {**_selection(doc), **change}
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Why?", "references": [ref]})
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    assert client.get(f"/api/sessions/{session['id']}").get_json()["messages"] == []


def test_a_selection_of_another_section_or_two_selections_are_refused(client):
    doc = _doc(client)
    session = make_session(client, doc)
    other = {**_selection(doc, index=1), "start": 0}
    url = f"/api/sessions/{session['id']}/messages"
    resp = client.post(url, json={"content": "Why?", "references": [other]})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "references[0].section_id"
    resp = client.post(url, json={"content": "Why?", "references": [_selection(doc), _selection(doc)]})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "references"


def test_a_selection_of_an_older_version_is_checked_against_that_version(client):
    doc = _doc(client)
    session = make_session(client, doc)
    _edit(client, doc, "New start. " + TEXT)
    assert _ask(client, session, _selection(doc, version=1))["user_message"]["references"][0]["section_version"] == 1
    resp = client.post(f"/api/sessions/{session['id']}/messages",
                       json={"content": "Why?", "references": [_selection(doc, version=2)]})
    assert resp.status_code == 400  # in version 2 the passage is 11 characters further on


def test_the_websocket_send_carries_the_selection(make_app, fake_openai, start_server):
    server = start_server(make_app(**model_config(fake_openai)))
    client = server.app.test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    ws = connect_ws(server, session["id"])
    try:
        ref = _selection(doc)
        ws.send(json.dumps({"type": "send", "content": "Shorter?", "references": [ref]}))
        events = ws_events(ws, lambda e: e["type"] in ("done", "error") and not e.get("local"))
        assert events[-1]["type"] == "done", events[-1]
        assert events[-1]["message"]["references"] == [ref]
        user = next(e for e in events if e["type"] == "user_message")
        assert user["message"]["references"] == [ref]
        ws.send(json.dumps({"type": "send", "content": "Shorter?", "references": [{**ref, "text": "nope"}]}))
        error = ws_events(ws, lambda e: e["type"] == "error")[-1]
        assert error["local"] is True and error["error"]["field"] == "references[0].text"
    finally:
        ws.close()


# -- what the model is told -----------------------------------------------------------------------

def test_the_model_is_told_which_passage_besides_the_whole_section(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    _ask(client, session, _selection(doc), "Make it shorter.")
    messages = fake_openai.requests[-1].json["messages"]
    system = messages[0]["content"]
    assert f"{TEXT}\n</section>" in system  # the whole section is still there
    assert (f'<selected_passage section_version="1" start="{START}" end="{START + len(PASSAGE)}">\n'
            f"{PASSAGE}\n</selected_passage>") in system
    assert "Work on this passage only" in system
    assert messages[-1] == {"role": "user", "content": f'[About the selected passage: "{PASSAGE}"]\nMake it shorter.'}

    # A later question without a selection: no passage instruction, the earlier one keeps its quote.
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Thanks. And the rest?"})
    messages = fake_openai.requests[-1].json["messages"]
    assert "<selected_passage" not in messages[0]["content"]
    assert messages[1]["content"].startswith("[About the selected passage:")
    assert messages[-1]["content"] == "Thanks. And the rest?"


def test_a_regenerated_reply_is_about_the_same_passage(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    ref = _selection(doc)
    _ask(client, session, ref)
    resp = client.post(f"/api/sessions/{session['id']}/regenerate", json={})
    assert resp.status_code == 201
    assert resp.get_json()["assistant_message"]["references"] == [ref]
    assert "<selected_passage" in fake_openai.requests[-1].json["messages"][0]["content"]


# -- applying: only the passage -------------------------------------------------------------------

def _apply(client, session: dict, reply: dict, mode: str = "passage"):
    return client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": mode})


def test_apply_replaces_only_the_passage_as_one_version_linked_to_the_reply(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="\nThe budget: 40,000 euros, two years.\n"))
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    resp = _apply(client, session, reply)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    expected = TEXT[:START] + "The budget: 40,000 euros, two years." + TEXT[START + len(PASSAGE):]
    assert body["section"]["content"] == expected
    assert body["section"]["version"] == 2 and body["previous_version"] == 1
    versions = client.get(f"{_section_url(doc)}/versions").get_json()["versions"]
    assert len(versions) == 2
    assert versions[-1]["source"] == {"kind": "chat", "message_id": reply["id"], "session_id": session["id"],
                                      "mode": "passage", "user": "local"}


def test_a_passage_reply_is_reviewed_then_saved_as_reviewed(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="The budget: 40,000 euros."))
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    review = client.post(f"/api/sessions/{session['id']}/review", json={"message_id": reply["id"], "mode": "passage"})
    assert review.status_code == 200, review.get_json()
    body = review.get_json()
    assert body["old"] == TEXT
    assert body["new"] == TEXT[:START] + "The budget: 40,000 euros." + TEXT[START + len(PASSAGE):]
    assert _current(client, doc)["version"] == 1  # a review writes nothing
    edited = body["new"].replace("We report every six months.", "We report yearly.")
    saved = client.post(f"/api/sessions/{session['id']}/apply", json={
        "message_id": reply["id"], "mode": "passage", "content": edited, "version": body["version"]})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["section"]["content"] == edited
    source = client.get(f"{_section_url(doc)}/versions").get_json()["versions"][-1]["source"]
    assert (source["mode"], source["reviewed"], source["message_id"]) == ("passage", True, reply["id"])


def test_reviewing_a_passage_that_is_gone_says_so(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    _edit(client, doc, "Something else entirely.")
    review = client.post(f"/api/sessions/{session['id']}/review", json={"message_id": reply["id"], "mode": "passage"})
    assert review.status_code == 409
    assert review.get_json()["error"]["code"] == "passage_moved"


def test_apply_after_an_edit_elsewhere_finds_the_passage_again(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="Forty thousand euros, two years."))
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    edited = "Intro added. " + TEXT + " And a new ending."
    _edit(client, doc, edited)
    resp = _apply(client, session, reply)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["section"]["content"] == edited.replace(PASSAGE, "Forty thousand euros, two years.")
    assert resp.get_json()["section"]["version"] == 3


def test_apply_keeps_the_place_when_only_text_after_the_passage_changed(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="Forty thousand euros."))
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    _edit(client, doc, TEXT + " Again: " + PASSAGE)  # now twice, but the first is where it was
    resp = _apply(client, session, reply)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["section"]["content"] == TEXT.replace(PASSAGE, "Forty thousand euros.") + " Again: " + PASSAGE


@pytest.mark.parametrize(("edited", "reason", "occurrences"), [
    (TEXT.replace("40,000", "45,000"), "missing", 0),
    ("Intro. " + TEXT + " " + PASSAGE, "ambiguous", 2),
    (PASSAGE + " " + TEXT, "ambiguous", 2),
])
def test_apply_when_the_passage_moved_asks_the_user(make_app, fake_openai, edited, reason, occurrences):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    _edit(client, doc, edited)
    resp = _apply(client, session, reply)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "passage_moved"
    assert (error["reason"], error["occurrences"], error["passage"]) == (reason, occurrences, PASSAGE)
    section = _current(client, doc)
    assert (section["content"], section["version"]) == (edited, 2)


def test_apply_passage_needs_a_reply_about_a_passage(client):
    doc = _doc(client)
    session = make_session(client, doc)
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Hello"})
    reply = resp.get_json()["assistant_message"]
    resp = _apply(client, session, reply)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "mode"


def test_replace_and_append_still_work_on_a_reply_about_a_passage(make_app, fake_openai):
    client = make_app(**model_config(fake_openai)).test_client()
    doc = _doc(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="Whole new text."))
    reply = _ask(client, session, _selection(doc))["assistant_message"]
    assert _apply(client, session, reply, "replace").get_json()["section"]["content"] == "Whole new text."


# -- relocation, unit by unit ---------------------------------------------------------------------

REF = {"kind": "selection", "section_id": "s", "section_version": 1, "start": 4, "end": 7, "text": "cat"}


@pytest.mark.parametrize(("old", "now", "found"), [
    ("the cat sat", "the cat sat here", (4, 7)),          # changed after it: same place
    ("the cat sat", "so the cat sat", (7, 10)),           # changed before it: the one occurrence
    ("the cat sat", "the cat sat by a cat", (4, 7)),      # two, but nothing before it changed
    ("the cat sat", "the dog sat", None),                 # gone
    ("the cat sat", "a cat, the cat sat", None),          # two, and the text before changed
    ("the cat sat", "the catalogue sat", (4, 7)),         # an unchanged prefix keeps its place even inside a word
])
def test_locate(old, now, found):
    if found is None:
        with pytest.raises(PassageMoved):
            locate(now, old, REF)
    else:
        assert locate(now, old, REF) == found


def test_locate_without_the_old_text_needs_a_unique_match():
    assert locate("a cat", None, {**REF, "start": 2, "end": 5}) == (2, 5)
    with pytest.raises(PassageMoved) as caught:
        locate("the cat sat", None, {**REF, "start": 0, "end": 3, "text": "dog"})  # not there
    assert caught.value.details["reason"] == "missing"


def test_replace_passage_uses_the_history_and_keeps_the_passage_whitespace():
    section = Section(id="s", document_id="d", title="T", content="the cat sat")
    section.record_version("Created", {"kind": "edit"})
    assert replace_passage(section, REF, "dog") == "the dog sat"
    section.new_version("now the cat sat", "Edited", {"kind": "edit"})
    assert replace_passage(section, REF, " dog\n") == "now the dog sat"
    assert fitted(" cat ", "dog\n") == " dog "
    assert fitted("  ", "x") == "x"
