"""The offline assistant: deterministic, honest about being offline, quotes what the question is about."""
from __future__ import annotations

import threading

import pytest
from conftest import make_document, make_session

from vice_ai.llm.base import ChatRequest, Finish, TextDelta
from vice_ai.llm.offline import OFFLINE_MODEL, OfflineBackend, answer

SECTION = (
    "We ask for funding to study how teams review code. "
    "The budget is 40,000 euros over two years. "
    "Interviews with forty teams start in March. "
    "Staff costs take most of the budget."
)


def _quoted(reply: str) -> list[str]:
    """The sentences the reply lists as closest to the question."""
    return [line[2:] for line in reply.splitlines() if line.startswith("- ")]


def test_same_input_same_output():
    assert answer("What is the budget?", "Summary", SECTION) == answer("What is the budget?", "Summary", SECTION)


def test_says_it_is_offline_beside_the_reply_not_in_it():
    reply = answer("Anything?", "Summary", SECTION)
    assert "OPENAI_API_KEY" not in reply  # applying the reply must not paste the note into the section
    notice = OfflineBackend().notice
    assert "offline" in notice.lower() and "OPENAI_API_KEY" in notice and "OPENAI_BASE_URL" in notice


def test_quotes_the_sentences_relevant_to_the_question_best_first():
    reply = answer("How large is the budget?", "Summary", SECTION)
    assert _quoted(reply) == ["The budget is 40,000 euros over two years.", "Staff costs take most of the budget."]
    assert "Interviews with forty teams" not in reply


def test_the_best_match_comes_first():
    reply = answer("When do interviews with the teams start?", "Summary", SECTION)
    assert _quoted(reply)[0] == "Interviews with forty teams start in March."


def test_plural_and_case_do_not_hide_a_match():
    reply = answer("INTERVIEW plans?", "Summary", SECTION)
    assert _quoted(reply) == ["Interviews with forty teams start in March."]


def test_counts_words_and_sentences_and_quotes_the_opening():
    reply = answer("Summarise it", "Summary", SECTION)
    assert "**Summary** has 32 words in 4 sentences." in reply
    assert "\u201cWe ask for funding to study how teams review code.\u201d" in reply


def test_says_so_when_nothing_matches():
    reply = answer("Who is the poet laureate?", "Summary", SECTION)
    assert _quoted(reply) == []
    assert "No sentence in the section shares words with your question." in reply


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_handles_an_empty_section(text):
    reply = answer("Improve this", "Methods", text)
    assert "**Methods** is empty so far" in reply


def test_handles_a_section_of_headings_only():
    reply = answer("Improve this", "Plan", "## Work packages\n### WP1")
    assert "only headings" in reply


def test_quotes_list_items_one_by_one_without_markup():
    text = "## Risks\n- Staff turnover may delay interviews.\n- The budget could be cut.\n1. Transcripts may be lost"
    reply = answer("Which risks concern staff?", "Risks", text)
    assert _quoted(reply) == ["Staff turnover may delay interviews."]
    assert _quoted(answer("Are transcripts at risk?", "Risks", text)) == ["Transcripts may be lost"]


def test_counts_words_in_any_script():
    reply = answer("Größe?", "Résumé", "Die Größe der Stichprobe beträgt 1.200 Personen.")
    assert "has 7 words in 1 sentence." in reply
    assert _quoted(reply) == ["Die Größe der Stichprobe beträgt 1.200 Personen."]


def test_an_untitled_section_is_called_this_section():
    assert answer("?", "", "One sentence.").startswith("**this section** has 2 words in 1 sentence.")


def _request(question: str, text: str = SECTION) -> ChatRequest:
    return ChatRequest(
        model=OFFLINE_MODEL,
        messages=[{"role": "system", "content": "..."}, {"role": "user", "content": "Earlier question"},
                  {"role": "assistant", "content": "Earlier reply"}, {"role": "user", "content": question}],
        section_text=text,
        section_title="Summary",
    )


def test_backend_streams_the_answer_to_the_latest_question():
    backend = OfflineBackend()
    assert backend.offline is True
    assert backend.models() == [OFFLINE_MODEL]
    chunks = list(backend.stream(_request("What is the budget?"), threading.Event()))
    assert isinstance(chunks[-1], Finish)
    deltas = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert len(deltas) > 1  # streamed in pieces, like a real server
    assert "".join(deltas) == answer("What is the budget?", "Summary", SECTION)


def test_backend_stops_when_cancelled():
    cancel = threading.Event()
    stream = OfflineBackend().stream(_request("What is the budget?"), cancel)
    first = next(stream)
    assert isinstance(first, TextDelta)
    cancel.set()
    assert list(stream) == []


def test_through_the_api_the_reply_is_the_same_in_two_apps(make_app, tmp_path):
    """Two separate servers over different folders give the same reply to the same question."""
    replies = []
    for folder in ("one", "two"):
        client = make_app(DATA_DIR=str(tmp_path / folder)).test_client()
        session = make_session(client, make_document(client))
        resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "What is the budget?"})
        replies.append(resp.get_json()["assistant_message"]["content"])
    assert replies[0] == replies[1]
    assert "The budget is 40,000 euros over two years." in replies[0]


def test_health_and_models_say_offline(client):
    health = client.get("/api/health").get_json()
    assert health == {"status": "ok", "offline": True, "default_model": OFFLINE_MODEL, "read_only": False,
                      "storage": "ok", "storage_message": None, "redis": None}
    assert client.get("/api/models").get_json() == {"default": OFFLINE_MODEL, "offline": True, "models": [OFFLINE_MODEL]}


def test_the_offline_note_is_the_reply_s_notice_and_replace_leaves_it_out(make_app, tmp_path):
    client = make_app(DATA_DIR=str(tmp_path)).test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    reply = client.post(f"/api/sessions/{session['id']}/messages",
                        json={"content": "What is the budget?"}).get_json()["assistant_message"]
    assert reply["notice"] == OfflineBackend.notice and "OPENAI_API_KEY" not in reply["content"]
    applied = client.post(f"/api/sessions/{session['id']}/apply", json={"message_id": reply["id"], "mode": "replace"})
    assert applied.status_code == 200
    assert applied.get_json()["section"]["content"] == reply["content"].strip()
    assert "offline assistant" not in applied.get_json()["section"]["content"]
    # The notice is kept with the message: a new app on the same folder still shows it.
    again = make_app(DATA_DIR=str(tmp_path)).test_client().get(f"/api/sessions/{session['id']}").get_json()
    assert [m["notice"] for m in again["messages"] if m["role"] == "assistant"] == [OfflineBackend.notice]
