"""Export: readable Markdown with sections at their levels, optional chats, and complete JSON."""
from __future__ import annotations

from conftest import make_document, make_session


def test_markdown_export_has_every_section_in_order(client):
    doc = make_document(client, "Grant proposal", [
        {"title": "Summary", "content": "We ask for funding.", "level": 1},
        {"title": "Details", "content": "Two years.", "level": 2},
        {"title": "Prior work", "content": "Writing with machines, 2023.", "type": "reference"},
    ])
    resp = client.get(f"/api/documents/{doc['id']}/export")
    assert resp.status_code == 200 and resp.mimetype == "text/markdown"
    assert 'filename="grant-proposal.md"' in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.index("## Summary") < text.index("We ask for funding.") < text.index("### Details")
    assert "> Writing with machines, 2023." in text
    assert "Chat" not in text


def test_markdown_export_with_chats_includes_the_transcript(client):
    doc = make_document(client)
    session = make_session(client, doc, title="Budget check")
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "What is the budget?"})
    text = client.get(f"/api/documents/{doc['id']}/export?chats=1").get_data(as_text=True)
    assert "Chat \u201cBudget check\u201d on \u201cSummary\u201d" in text
    assert "**You**" in text and "What is the budget?" in text and "**Assistant (offline-assistant)**" in text


def test_json_export_holds_the_document_its_history_and_sessions(client):
    doc = make_document(client)
    session = make_session(client, doc)
    body = client.get(f"/api/documents/{doc['id']}/export?format=json").get_json()
    assert body["document"]["id"] == doc["id"]
    assert body["document"]["sections"][0]["history"][0]["version"] == 1
    assert [s["id"] for s in body["sessions"]] == [session["id"]]


def test_export_errors(client):
    doc = make_document(client)
    bad = client.get(f"/api/documents/{doc['id']}/export?format=pdf")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "format"
    assert client.get("/api/documents/00000000-0000-4000-8000-000000000000/export").status_code == 404


def test_markdown_transcript_marks_a_reply_that_did_not_finish(make_app, fake_openai):
    from fake_openai import Reply

    client = make_app(**fake_openai.app_config(IDLE_TIMEOUT=0.5)).test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    fake_openai.script(Reply(text="The budget is forty", end="cut"), Reply(text="Forty thousand euros."))
    cut = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "What is the budget?"})
    assert cut.status_code >= 500  # the model's stream broke: the partial reply is kept, interrupted
    client.post(f"/api/sessions/{session['id']}/messages", json={"content": "And again?"})
    text = client.get(f"/api/documents/{doc['id']}/export?chats=1").get_data(as_text=True)
    # A reader of the transcript is told the first reply stopped part way; the complete one carries no note.
    partial = text[text.index("The budget is forty") - 200:text.index("The budget is forty")]
    assert "*Partial reply: interrupted*" in partial
    assert text.count("Partial reply") == 1 and "Forty thousand euros." in text
