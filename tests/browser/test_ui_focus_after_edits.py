"""Keyboard users: after Undo, a revert, or editing a question, the focus stays where they work (never on the page)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import assistant, card, open_document, send

pytestmark = pytest.mark.browser

FOCUS_ON_PAGE = "() => !document.activeElement || document.activeElement === document.body"


def test_undo_of_an_applied_reply_keeps_the_focus_on_that_reply(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Make it tighter.")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    menu = reply.locator(".apply-menu summary")
    menu.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Replace the section text
    review = page.locator(".review-dialog")
    expect(review).to_be_visible()
    review.get_by_role("button", name="Save").click()
    undo = reply.get_by_role("button", name="Undo")
    undo.focus()
    page.keyboard.press("Enter")
    expect(reply.locator(".apply-result")).to_contain_text("Undone")
    expect(menu).to_be_focused()
    assert not page.evaluate(FOCUS_ON_PAGE)


def test_a_revert_from_the_history_returns_the_focus_to_the_history_button(served, doc, new_page):
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    served.api("PATCH", url, {"version": 1, "content": "A second text."})
    page = new_page()
    open_document(page, served.url, doc)
    history = card(page, 0).get_by_role("button", name="Section history")
    history.focus()
    page.keyboard.press("Enter")
    revert = card(page, 0).get_by_role("button", name="Revert to this")
    expect(revert).to_have_count(1)
    revert.focus()
    page.keyboard.press("Enter")
    review = page.locator(".review-dialog")
    expect(review).to_be_visible()
    review.get_by_role("button", name="Save the revert").click()
    expect(card(page, 0).locator(".sec-meta")).to_contain_text("v3")
    expect(card(page, 0).locator(".history-item.is-current")).to_contain_text("v3")
    expect(history).to_be_focused()


def test_editing_a_question_keeps_the_focus_when_cancelled_or_sent(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "First question")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    question = page.locator("#messages .msg-user").first
    edit = question.get_by_role("button", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    box = page.get_by_label("Edit your message")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")  # cancelled: back on its Edit button
    expect(box).to_have_count(0)
    expect(question.get_by_role("button", name="Edit")).to_be_focused()

    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    box.fill("First question, asked better")
    page.keyboard.press("Enter")  # sent as a new branch: the keyboard goes to the composer
    expect(page.locator("#messages .msg-user .branch-count")).to_have_text("2 / 2")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(page.locator("#composer-input")).to_be_focused()
