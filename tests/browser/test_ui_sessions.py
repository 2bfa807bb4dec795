"""Chats of a section: start, pick, rename, delete; the model picker."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .conftest import Served
from .helpers import assistant, open_document, send, session_of, wait_live

pytestmark = pytest.mark.browser


def test_sessions_and_model_picker(served, doc, model, new_page):
    model.default = Reply(text="Noted.")
    page = new_page()
    open_document(page, served.url, doc)
    expect(page.locator("#messages .empty-state")).to_contain_text("No chats about this section yet")
    picker = page.locator("#model-select")
    expect(picker.locator("option")).to_have_text(["fake-model — default", "fake-small", "fake-large"])

    # The first message starts a chat named after it, with the model picked before.
    picker.select_option("fake-large")
    send(page, "Is the budget realistic?")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    assert model.chat_requests[-1].json["model"] == "fake-large"
    expect(page.locator("#session-select option:checked")).to_have_text("Is the budget realistic?")
    first_id = session_of(served, page)["id"]

    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#session-select option")).to_have_count(2)
    wait_live(page)
    expect(page.locator("#messages .empty-state")).to_contain_text("No messages yet")
    expect(picker).to_have_value("fake-large")  # a new chat starts with the model picked last
    assert session_of(served, page)["config"]["model"] == "fake-large"
    picker.select_option("fake-small")
    expect(page.locator(".toast").filter(has_text="now uses fake-small")).to_be_visible()
    send(page, "Second thread")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    assert model.chat_requests[-1].json["model"] == "fake-small"

    # Rename it in place.
    page.get_by_role("button", name="Rename this chat").click()
    title = page.get_by_label("Chat title")
    title.fill("Budget questions")
    title.press("Enter")
    expect(page.locator("#session-select option:checked")).to_have_text("Budget questions")
    assert session_of(served, page)["title"] == "Budget questions"

    # Pick the first chat again: its messages and its model come back.
    page.locator("#session-select").select_option(first_id)
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text(["Is the budget realistic?"])
    expect(picker).to_have_value("fake-large")

    # Delete it, after a confirmation; the other chat is shown.
    page.get_by_role("button", name="Delete this chat").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#session-select option")).to_have_text(["Budget questions"])
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text(["Second thread"])
    sessions = served.api("GET", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions")
    assert [s["title"] for s in sessions["sessions"]] == ["Budget questions"]


def test_offline_assistant_is_labelled_and_answers(make_app, new_page):
    served = Served(make_app, {}).start()  # no model server configured
    try:
        doc = served.api("POST", "/api/documents", {"title": "Notes", "sections": [
            {"title": "Budget", "content": "The budget is 40,000 euros. It covers two years."}]})
        page = new_page()
        open_document(page, served.url, doc)
        expect(page.locator("#model-select option")).to_have_text(["Offline assistant (no model server) — default"])
        send(page, "What is the budget?")
        reply = assistant(page)
        expect(reply).to_have_attribute("data-status", "complete")
        expect(reply.locator(".msg-body")).to_contain_text("The budget is 40,000 euros.")
        # The note on connecting a model is beside the reply, not in it.
        expect(reply.locator(".msg-notice")).to_contain_text("offline assistant")
        expect(reply.locator(".msg-body")).not_to_contain_text("offline assistant")
    finally:
        served.stop()
