"""Branches in the browser: edit a question and move between the two branches; regenerate a stopped reply;
a chat started with "New chat" is named by its first message."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, open_document, send, session_of

pytestmark = pytest.mark.browser


def _user(page, index: int = -1):
    found = page.locator("#messages .msg-user")
    return found.last if index == -1 else found.nth(index)


def test_edit_a_message_and_move_between_the_branches(served, doc, model, new_page):
    model.script(Reply(text="Forty thousand euros."), Reply(text="Two years."), Reply(text="Twenty-four months."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "What is the budget?")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    send(page, "How long is it?")
    expect(page.locator("#messages .msg-assistant")).to_have_count(2)
    expect(assistant(page)).to_have_attribute("data-status", "complete")

    # Edit the second question: a new branch, the old one kept.
    _user(page).locator(".edit-btn").click()
    box = page.locator(".msg-edit .edit-input")
    expect(box).to_have_value("How long is it?")
    box.fill("How many months does it run?")
    page.locator(".msg-edit").get_by_role("button", name="Send").click()
    expect(_user(page).locator(".msg-text")).to_have_text("How many months does it run?")
    expect(assistant(page).locator(".msg-body")).to_have_text("Twenty-four months.")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(page.locator("#messages .msg-user")).to_have_count(2)  # only the active branch is shown
    expect(_user(page).locator(".branch-count")).to_have_text("2 / 2")
    expect(_user(page, 0).locator(".branch-count")).to_have_count(0)
    # The model was sent the first turn and the edited question only.
    sent = [m["content"] for m in model.chat_requests[-1].json["messages"] if m["role"] != "system"]
    assert sent == ["What is the budget?", "Forty thousand euros.", "How many months does it run?"]
    expect(assistant(page).locator(".receipt")).to_contain_text("this branch only")

    # Back to the first branch, and forward again.
    _user(page).locator(".branch-prev").click()
    expect(_user(page).locator(".msg-text")).to_have_text("How long is it?")
    expect(_user(page).locator(".branch-count")).to_have_text("1 / 2")
    expect(assistant(page).locator(".msg-body")).to_have_text("Two years.")
    session = session_of(served, page)
    assert session["message_count"] == 6 and len(session["messages"]) == 4  # the page shows the active branch
    assert session["active_leaf"] == session["active_path"][-1]
    assert [m["content"] for m in session["messages"] if m["id"] == session["active_leaf"]] == ["Two years."]
    # The choice is the chat's: a reload shows the same branch.
    page.reload()
    expect(_user(page).locator(".msg-text")).to_have_text("How long is it?")
    _user(page).locator(".branch-next").click()
    expect(_user(page).locator(".msg-text")).to_have_text("How many months does it run?")
    expect(assistant(page).locator(".msg-body")).to_have_text("Twenty-four months.")
    expect(_user(page).locator(".branch-next")).to_be_disabled()


def test_regenerate_a_stopped_reply(served, doc, model, new_page):
    model.script(Reply(tokens=[f"word{i} " for i in range(80)], delay=0.1), Reply(text="A fresh answer."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Write a lot")
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_contain_text("word2")
    page.locator("#stop-btn").click()
    expect(reply).to_have_attribute("data-status", "stopped")

    reply.locator(".regenerate-btn").click()
    expect(assistant(page).locator(".msg-body")).to_have_text("A fresh answer.")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(page.locator("#messages .msg-assistant")).to_have_count(1)
    expect(assistant(page).locator(".branch-count")).to_have_text("2 / 2")
    assistant(page).locator(".branch-prev").click()
    expect(assistant(page)).to_have_attribute("data-status", "stopped")
    expect(assistant(page).locator(".msg-body")).to_contain_text("word2")
    expect(assistant(page).locator(".branch-count")).to_have_text("1 / 2")
    session = session_of(served, page)
    replies = [m for m in session["messages"] if m["role"] == "assistant"]  # the page: the branch chosen
    assert [m["status"] for m in replies] == ["stopped"] and len(replies[0]["sibling_ids"]) == 2


def test_new_chat_is_named_from_its_first_message(served, doc, model, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#session-select option:checked")).to_have_text("New chat")
    send(page, "Shorten the   summary please")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(page.locator("#session-select option:checked")).to_have_text("Shorten the summary please")
    assert session_of(served, page)["title"] == "Shorten the summary please"
