"""Search: what it finds and how (ids, snippet, ranking, query syntax), kept current on every change."""
from __future__ import annotations

import threading
import time

import pytest
from conftest import make_document, make_session, model_config
from fake_openai import Reply

from vice_ai.search.index import match_expression, split_snippet


def search(client, q: str, **params) -> list[dict]:
    resp = client.get("/api/search", query_string={"q": q, **params})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["results"]


def kinds(results: list[dict]) -> list[tuple[str, str | None]]:
    return sorted((r["kind"], r["message_id"] or r["session_id"] or r["section_id"] or r["document_id"])
                  for r in results)


def test_finds_documents_sections_chats_and_messages_with_the_ids_to_open_them(model_app, fake_openai):
    client = model_app.test_client()
    doc = make_document(client, "Grant proposal")
    summary = doc["sections"][0]
    session = make_session(client, doc, title="Budget questions")
    fake_openai.script(Reply(text="The ceiling for travel is 3,000 euros."))
    sent = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "What is the travel ceiling?"})
    assert sent.status_code == 201
    question, answer = sent.get_json()["user_message"], sent.get_json()["assistant_message"]

    found = search(client, "ceiling")
    assert kinds(found) == sorted([("message", question["id"]), ("message", answer["id"])])
    reply = next(r for r in found if r["message_id"] == answer["id"])
    assert reply == {**reply, "kind": "message", "document_id": doc["id"], "section_id": summary["id"],
                     "session_id": session["id"], "role": "assistant", "title": "Budget questions",
                     "document_title": "Grant proposal", "section_title": "Summary", "archived": False}
    [(start, end)] = reply["matches"]
    assert reply["snippet"][start:end] == "ceiling"

    [section_hit] = search(client, "budget is")  # the section's text; "is" as a prefix
    assert (section_hit["kind"], section_hit["section_id"], section_hit["session_id"]) == ("section", summary["id"],
                                                                                           None)
    assert [section_hit["snippet"][s:e] for s, e in section_hit["matches"]] == ["budget", "is"]
    assert kinds(search(client, "grant prop")) == [("document", doc["id"])]
    assert kinds(search(client, "questions")) == [("chat", session["id"])]
    assert kinds(search(client, "Method")) == [("section", doc["sections"][1]["id"])]


def test_a_title_match_ranks_before_a_match_in_the_text(client):
    doc = make_document(client, "Notes", sections=[
        {"title": "Introduction", "content": "Nothing about the topic here but one word: harvest."},
        {"title": "Harvest", "content": "Dates and yields."}])
    found = search(client, "harvest")
    assert [r["section_id"] for r in found] == [doc["sections"][1]["id"], doc["sections"][0]["id"]]


def test_the_last_word_matches_as_a_prefix_only_while_being_typed(client):
    make_document(client, "Interviews", sections=[{"title": "Plan", "content": "We transcribe everything."}])
    assert len(search(client, "transc")) == 1
    assert search(client, "transc ") == []  # a finished word matches whole words only


@pytest.mark.parametrize("q", ['"', 'budget"', "AND", "OR NOT", "NEAR(budget", "budget*", "*", "^budget",
                               "title:budget", "(", "-budget", "budget + - : ' {x}", "\u00e9\u00e8", "💰"])
def test_no_user_text_is_a_query_syntax_error(client, q):
    make_document(client)
    resp = client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()


def test_operators_are_words_and_diacritics_do_not_matter(client):
    make_document(client, "Café AND bar", sections=[{"title": "Menu", "content": "Crème brûlée, or not."}])
    assert len(search(client, "AND")) == 1
    assert len(search(client, "creme brulee")) == 1
    assert len(search(client, "or not")) == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"q": ""}, "q"), ({"q": "   "}, "q"), ({}, "q"), ({"q": "x" * 201}, "q"),
    ({"q": "a", "limit": "0"}, "limit"), ({"q": "a", "limit": "101"}, "limit"), ({"q": "a", "limit": "ten"}, "limit"),
    ({"q": "a", "unknown": "1"}, "unknown"),
])
def test_bad_queries_are_a_400_naming_the_field(client, params, field):
    resp = client.get("/api/search", query_string=params)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field


def test_limit_and_document_filter(client):
    first = make_document(client, "First", sections=[{"title": f"Part {i}", "content": "shared word"}
                                                     for i in range(5)])
    second = make_document(client, "Second", sections=[{"title": "Other", "content": "shared word"}])
    assert len(search(client, "shared")) == 6
    assert len(search(client, "shared", limit=2)) == 2
    assert {r["document_id"] for r in search(client, "shared", document_id=second["id"])} == {second["id"]}
    assert len(search(client, "shared", document_id=first["id"])) == 5
    missing = client.get("/api/search", query_string={"q": "shared", "document_id": "not-an-id"})
    assert missing.status_code == 404


def test_the_index_follows_every_change(client):
    doc = make_document(client, "Field study")
    summary, methods = doc["sections"]
    base = f"/api/documents/{doc['id']}"
    # Edit a section's text and title: the old words go, the new ones are found.
    resp = client.patch(f"{base}/sections/{summary['id']}", json={"version": 1, "content": "A pilot with otters.",
                                                                 "title": "Overview"})
    assert resp.status_code == 200, resp.get_json()
    assert search(client, "funding") == []
    assert kinds(search(client, "otters")) == [("section", summary["id"])]
    assert kinds(search(client, "overview")) == [("section", summary["id"])]
    # A new section, a moved one, a renamed document.
    added = client.post(f"{base}/sections", json={"title": "Appendix", "content": "Lemurs."}).get_json()
    assert kinds(search(client, "lemurs")) == [("section", added["id"])]
    assert client.post(f"{base}/sections/{added['id']}/move", json={"position": 0}).status_code == 200
    assert kinds(search(client, "lemurs")) == [("section", added["id"])]
    assert client.patch(base, json={"title": "Wildlife study", "description": "About rivers."}).status_code == 200
    assert kinds(search(client, "field")) == []
    assert kinds(search(client, "rivers")) == [("document", doc["id"])]
    # Chats: created, renamed, a message, archived (still found, marked), deleted.
    session = make_session(client, doc, index=1, title="Sampling plan")
    assert kinds(search(client, "sampling")) == [("chat", session["id"])]
    assert client.patch(f"/api/sessions/{session['id']}", json={"title": "Coding scheme"}).status_code == 200
    assert search(client, "sampling") == []
    sent = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "Beavers or otters?"})
    assert sent.status_code == 201
    question = sent.get_json()["user_message"]
    assert ("message", question["id"]) in kinds(search(client, "beavers"))
    assert client.patch(f"/api/sessions/{session['id']}", json={"archived": True}).status_code == 200
    assert {r["archived"] for r in search(client, "coding scheme")} == {True}
    assert client.delete(f"/api/sessions/{session['id']}").status_code == 200
    assert search(client, "beavers") == [] and search(client, "coding") == []
    # A deleted section, then the whole document.
    assert client.delete(f"{base}/sections/{methods['id']}").status_code == 200
    assert search(client, "interview") == []
    assert client.delete(base).status_code == 200
    assert search(client, "otters") == [] and search(client, "wildlife") == []


def test_a_streaming_reply_is_indexed_when_final(make_app, fake_openai):
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="Aardvarks dig burrows at night", chunks=5, delay=0.3))
    answers: list = []
    sender = threading.Thread(target=lambda: answers.append(
        app.test_client().post(f"/api/sessions/{session['id']}/messages", json={"content": "Tell me"})))
    sender.start()
    deadline = time.monotonic() + 10
    while not fake_openai.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)  # a few words are out
    assert search(client, "aardvarks") == []  # streaming: not yet
    sender.join(15)
    assert answers and answers[0].status_code == 201
    [hit] = search(client, "burrows")
    assert (hit["kind"], hit["message_id"]) == ("message", answers[0].get_json()["assistant_message"]["id"])


def test_snippet_parts_and_expressions():
    assert match_expression('say "hi" now') == '"say" """hi""" "now"*'
    assert match_expression("done ") == '"done"'
    assert match_expression("!!! ???") is None
    assert split_snippet("a \x02bc\x03 d \x02e\x03") == ("a bc d e", [(2, 4), (7, 8)])


def test_an_untitled_section_is_found_under_the_heading_above_it(client):
    doc = make_document(client, "Trip", [{"title": "Day one", "type": "header", "level": 1},
                                         {"title": "", "content": "We walked to the lighthouse."},
                                         {"title": "", "content": "And back."}])
    untitled = doc["sections"][1]
    [hit] = search(client, "lighthouse")
    assert (hit["kind"], hit["section_id"], hit["section_title"], hit["section_heading"]) == (
        "section", untitled["id"], "", "Day one")
    [titled] = search(client, "day one")
    assert titled["kind"] == "section" and titled["section_heading"] == titled["section_title"] == "Day one"
    assert search(client, "trip")[0]["section_heading"] is None  # the document itself
