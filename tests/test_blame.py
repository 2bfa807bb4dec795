"""Blame: the pure paragraph/sentence attribution (domain/blame.py) and the provenance routes over real histories."""
from __future__ import annotations

import json
import time

import pytest
from auth_helpers import FAST_HASH, create_user, signin, signup
from conftest import make_document, make_session, model_config
from fake_openai import Reply, ToolCall

from vice_ai.domain.blame import blame, paragraphs_of, sentences_of
from vice_ai.services import services


def entry(version: int, content: str, kind: str = "edit", **source) -> dict:
    return {"version": version, "content": content, "title": "", "created_at": f"t{version}", "summary": "",
            "source": {"kind": kind, **source}}


def who(paragraphs) -> list[tuple[str, int]]:
    return [(p.text, p.by) for p in paragraphs]


# ---- the pure module ----------------------------------------------------------------

def test_paragraph_and_sentence_offsets_point_into_the_text():
    text = "  First one. Second?\n\n\n  Third para!\nStill third.\n\n"
    paras = paragraphs_of(text)
    assert [p[0] for p in paras] == ["First one. Second?", "Third para!\nStill third."]
    for piece, start, end in paras:
        assert text[start:end] == piece
    sentences = sentences_of(paras[0][0], paras[0][1])
    assert [(t, text[s:e]) for t, s, e in sentences] == [("First one.", "First one."), ("Second?", "Second?")]


def test_unchanged_and_moved_paragraphs_keep_their_version_and_changed_ones_take_the_new():
    history = [entry(1, "A one. A two.\n\nB para."),
               entry(2, "A one. A two.\n\nB para.\n\nC reply.", "chat", message_id="m", session_id="s"),
               entry(3, "B para.\n\nA one. A 2!\n\nC reply."),
               entry(4, "C reply.\n\nB para.\n\nA one. A 2!\n\nD new.")]
    assert who(blame(history, upto=2)) == [("A one. A two.", 0), ("B para.", 0), ("C reply.", 1)]
    at3 = blame(history, upto=3)
    assert who(at3) == [("B para.", 0), ("A one. A 2!", 2), ("C reply.", 1)]
    # The edited paragraph moved and changed one sentence: the other sentence is still version 1's.
    assert [(s.text, s.by) for s in at3[1].sentences] == [("A one.", 0), ("A 2!", 2)]
    assert who(blame(history)) == [("C reply.", 1), ("B para.", 0), ("A one. A 2!", 2), ("D new.", 3)]
    text = history[-1]["content"]
    assert all(text[p.start:p.end] == p.text for p in blame(history))


def test_a_revert_is_the_change_and_names_what_first_wrote_each_paragraph_it_brought_back():
    history = [entry(1, "Intro.\n\nBody."),
               entry(2, "Intro.\n\nBody.\n\nFrom a reply.", "chat", message_id="m", session_id="s"),
               entry(3, "All new text."),
               entry(4, "Intro.\n\nBody.\n\nFrom a reply.", "revert", from_version=2)]
    paras = blame(history)
    assert who(paras) == [("Intro.", 3), ("Body.", 3), ("From a reply.", 3)]
    assert [p.origin for p in paras] == [0, 0, 1]


def test_duplicate_paragraphs_and_empty_versions():
    history = [entry(1, ""), entry(2, "Same.\n\nSame."), entry(3, "Same.\n\nOther.\n\nSame."), entry(4, "  \n\n ")]
    assert who(blame(history, upto=3)) == [("Same.", 1), ("Other.", 2), ("Same.", 1)]
    assert blame(history) == []
    assert blame([]) == []


# ---- the routes -----------------------------------------------------------------------

@pytest.fixture
def team(make_app, fake_openai):
    """A password-mode app with a model; alice owns a document shared for editing with bob, for reading with carol."""
    app = make_app(**model_config(fake_openai), AUTH="password", PASSWORD_METHOD=FAST_HASH)
    alice, bob, carol, dave = (app.test_client() for _ in range(4))
    assert signup(alice, "alice").status_code == 201
    for name, client in (("bob", bob), ("carol", carol), ("dave", dave)):
        create_user(alice, name)
        assert signin(client, name).status_code == 200
    doc = make_document(alice, sections=[{"title": "Intro", "content": "Intro one. Second sentence.\n\nMiddle."}])
    for name, access in (("bob", "edit"), ("carol", "read")):
        assert alice.put(f"/api/documents/{doc['id']}/shares/{name}", json={"access": access}).status_code == 200
    return app, {"alice": alice, "bob": bob, "carol": carol, "dave": dave}, doc, fake_openai


def ask(client, session: dict, text: str) -> dict:
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": text})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["assistant_message"]


def build_history(team):
    """v1 created (alice), v2 reply appended (alice), v3 edit (bob), v4 suggestion (alice), v5 reply replace, v6 revert."""
    app, users, doc, fake = team
    alice, bob = users["alice"], users["bob"]
    section = doc["sections"][0]
    url = f"/api/documents/{doc['id']}/sections/{section['id']}"
    session = make_session(alice, doc, title="Tighten intro")
    fake.script(Reply(text="From the reply."))
    first = ask(alice, session, "Add a closing line.")
    assert alice.post(f"/api/sessions/{session['id']}/apply",
                      json={"message_id": first["id"], "mode": "append"}).status_code == 200
    edited = "Middle.\n\nIntro one. Second sentence, improved.\n\nFrom the reply."
    assert bob.patch(url, json={"version": 2, "content": edited}).status_code == 200
    fake.script(Reply(text="", tool_calls=[ToolCall("propose_section_edit", json.dumps(
        {"new_content": edited + "\n\nSuggested end.", "summary": "Closing"}))]), Reply(text="Proposed."))
    ask(alice, session, "Propose an ending.")
    [suggestion] = alice.get(f"/api/sessions/{session['id']}/suggestions").get_json()["suggestions"]
    assert alice.post(f"/api/sessions/{session['id']}/suggestions/{suggestion['id']}/accept",
                      json={}).status_code == 200
    fake.script(Reply(text="Replaced whole."))
    third = ask(alice, session, "Rewrite it all.")
    assert alice.post(f"/api/sessions/{session['id']}/apply",
                      json={"message_id": third["id"], "mode": "replace"}).status_code == 200
    assert alice.post(f"{url}/versions/4/revert").status_code == 200
    return url, session, {"first": first["id"], "suggested": suggestion["message_id"], "third": third["id"]}


def test_blame_over_edits_replies_a_suggestion_a_replace_and_a_revert_by_two_users(team):
    app, users, doc, _ = team
    url, session, messages = build_history(team)
    alice = users["alice"]
    ids = {name: c.get("/api/me").get_json()["user"]["id"] for name, c in users.items() if name in ("alice", "bob")}

    at4 = alice.get(f"{url}/blame?version=4").get_json()
    assert at4["version"] == 4 and at4["current_version"] == 6
    rows = [(p["text"], p["version"], p["source"]["kind"], p["source"].get("username")) for p in at4["paragraphs"]]
    assert rows == [("Middle.", 1, "created", "alice"),                              # moved, kept
                    ("Intro one. Second sentence, improved.", 3, "edit", "bob"),     # changed by bob
                    ("From the reply.", 2, "reply", "alice"),                        # appended from a reply
                    ("Suggested end.", 4, "suggestion", "alice")]
    reply = at4["paragraphs"][2]["source"]
    assert reply["session_id"] == session["id"] and reply["message_id"] == messages["first"]
    assert reply["session_title"] == "Tighten intro" and reply["user"] == ids["alice"]
    assert at4["paragraphs"][3]["source"]["message_id"] == messages["suggested"]
    assert at4["paragraphs"][1]["source"]["user"] == ids["bob"]
    assert [(s["text"], s["version"]) for s in at4["paragraphs"][1]["sentences"]] == [
        ("Intro one.", 1), ("Second sentence, improved.", 3)]
    assert [v["version"] for v in at4["versions"]] == [1, 2, 3, 4]

    at5 = alice.get(f"{url}/blame?version=5").get_json()["paragraphs"]
    assert [(p["text"], p["source"]["kind"], p["source"]["message_id"]) for p in at5] == [
        ("Replaced whole.", "reply", messages["third"])]

    now = alice.get(f"{url}/blame").get_json()
    content = alice.get(f"/api/documents/{doc['id']}").get_json()["sections"][0]["content"]
    assert all(content[p["start"]:p["end"]] == p["text"] for p in now["paragraphs"])
    assert {p["source"]["kind"] for p in now["paragraphs"]} == {"revert"}
    assert now["paragraphs"][0]["source"]["from_version"] == 4
    assert [p["origin"]["version"] for p in now["paragraphs"]] == [1, 3, 2, 4]
    assert now["paragraphs"][2]["origin"]["source"]["message_id"] == messages["first"]


def test_the_versions_a_chat_and_a_message_made(team):
    _, users, doc, _ = team
    url, session, messages = build_history(team)
    carol = users["carol"]  # a reader sees it too
    made = carol.get(f"/api/sessions/{session['id']}/versions").get_json()
    assert [(v["version"], v["message_id"], v["source"]["kind"], v["paragraphs_now"]) for v in made["versions"]] == [
        (2, messages["first"], "reply", 1), (4, messages["suggested"], "suggestion", 1),
        (5, messages["third"], "reply", 0)]
    assert made["section_id"] == doc["sections"][0]["id"] and made["current_version"] == 6
    one = carol.get(f"/api/sessions/{session['id']}/messages/{messages['third']}/versions").get_json()
    assert [v["version"] for v in one["versions"]] == [5]
    [question] = [m for m in carol.get(f"/api/sessions/{session['id']}").get_json()["messages"] if m["role"] == "user"][:1]
    assert carol.get(f"/api/sessions/{session['id']}/messages/{question['id']}/versions").get_json()["versions"] == []
    missing = carol.get(f"/api/sessions/{session['id']}/messages/{'0' * 8}-0000-4000-8000-{'0' * 12}/versions")
    assert missing.status_code == 404


def test_access_and_unknown_ids(team):
    _, users, doc, _ = team
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    assert users["carol"].get(f"{section_url}/blame").status_code == 200  # a reader
    assert users["dave"].get(f"{section_url}/blame").status_code == 404   # no access: as if absent
    session = make_session(users["alice"], doc)
    assert users["dave"].get(f"/api/sessions/{session['id']}/versions").status_code == 404
    assert users["alice"].get(f"/api/documents/{doc['id']}/sections/{'1' * 8}-1111-4111-8111-{'1' * 12}/blame"
                              ).status_code == 404
    assert users["alice"].get(f"{section_url}/blame?version=99").status_code == 404
    assert users["alice"].get(f"{section_url}/blame?version=0").status_code == 400
    assert users["alice"].get(f"{section_url}/blame?other=1").status_code == 400


def test_old_versions_without_a_user_and_a_deleted_chat_still_answer(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client, sections=[{"title": "S", "content": "One."}])
    session = make_session(client, doc)
    fake_openai.script(Reply(text="Two."))
    reply = ask(client, session, "More")
    assert client.post(f"/api/sessions/{session['id']}/apply",
                       json={"message_id": reply["id"], "mode": "append"}).status_code == 200
    with app.app_context():  # as a file written before versions named their user
        with services().state.edit_document(doc["id"]) as stored:
            for version in stored.sections[0].history:
                version["source"].pop("user", None)
    assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/blame"
    paras = make_app(**model_config(fake_openai)).test_client().get(url).get_json()["paragraphs"]  # after a restart
    assert [(p["text"], p["source"]["kind"]) for p in paras] == [("One.", "created"), ("Two.", "reply")]
    assert "user" not in paras[0]["source"] and paras[0]["source"]["username"] is None
    assert paras[1]["source"]["session_title"] is None and paras[1]["source"]["session_id"] == session["id"]


def test_a_long_history_answers_quickly(client):
    doc = make_document(client, sections=[{"title": "Long", "content": "Opening paragraph."}])
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    paragraphs = [f"Paragraph {i}. It says something about item {i}." for i in range(30)]
    for version in range(1, 200):
        i = version % 30
        paragraphs[i] = f"Paragraph {i}. Changed in round {version}. It says something about item {i}."
        assert client.patch(url, json={"version": version, "content": "\n\n".join(paragraphs)}).status_code == 200
    started = time.perf_counter()
    first = client.get(f"{url}/blame")
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = client.get(f"{url}/blame")
    warm = time.perf_counter() - started
    assert first.status_code == again.status_code == 200
    body = first.get_json()
    assert body["current_version"] == 200 and len(body["paragraphs"]) == 30
    assert body["paragraphs"][0]["version"] == 181  # the last round that changed paragraph 0 (180 % 30 == 0)
    print(f"\nblame of a 200-version section: {cold * 1000:.1f} ms cold, {warm * 1000:.1f} ms cached")
