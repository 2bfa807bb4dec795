"""Replies become section edits: apply (replace, append) through a review, undo, the stale-version note, Ask again."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, card, open_document, send

pytestmark = pytest.mark.browser

TIGHTER = "We request 40,000 euros for two years."


def apply(reply, mode_label: str) -> None:
    """Apply a reply and save its review with every change accepted."""
    reply.locator(".apply-menu summary").click()
    reply.get_by_role("button", name=mode_label).click()
    dialog = reply.page.locator("dialog.review-dialog")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_have_count(0)


def test_apply_undo_and_ask_again(served, doc, model, new_page):
    original = doc["sections"][0]["content"]
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.default = Reply(text=TIGHTER)
    page = new_page()
    open_document(page, served.url, doc)
    content = card(page, 0).locator(".sec-content")
    send(page, "Tighten this")
    first = assistant(page)
    expect(first).to_have_attribute("data-status", "complete")

    apply(first, "Replace the section text")
    expect(content).to_have_value(TIGHTER)
    expect(first.locator(".apply-result")).to_contain_text("Replaced the section text (now version 2)")
    expect(first.locator(".msg-stale")).to_be_hidden()  # the reply the section now holds is not stale
    expect(card(page, 0).locator(".status-badge")).to_have_value("generated")
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["content"], saved["version"]) == (TIGHTER, 2)

    first.get_by_role("button", name="Undo").click()
    expect(content).to_have_value(original)
    expect(first.locator(".apply-result")).to_contain_text("Undone")
    expect(card(page, 0).locator(".status-badge")).to_have_value("draft")  # the status from before the apply
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["content"], saved["version"], saved["status"]) == (original, 3, "draft")
    history = served.api("GET", section_url + "/versions")["versions"]
    assert history[1]["source"]["message_id"] == first.get_attribute("data-id")

    # The reply was written for version 1; the section is at 3 now, with the same text: not stale.
    stale = first.locator(".msg-stale")
    expect(stale).to_be_hidden()
    expect(first.locator(".apply-result .undo-btn")).to_have_count(0)
    edited = original + " Travel is included."
    content.fill(edited)
    content.blur()
    expect(stale).to_contain_text("Based on version 1; the section has changed (now version 4)")
    stale.get_by_role("button", name="Ask again").click()
    expect(page.locator("#messages .msg-user")).to_have_count(2)
    expect(page.locator("#messages .msg-user .msg-text").last).to_have_text("Tighten this")
    second = assistant(page)
    expect(second).to_have_attribute("data-status", "complete")
    expect(page.locator("#messages .msg-assistant")).to_have_count(2)
    expect(second.locator(".msg-stale")).to_be_hidden()
    assert model.chat_requests[-1].json["messages"][-1]["content"] == "Tighten this"

    apply(second, "Append to the section")
    expect(content).to_have_value(f"{edited}\n\n{TIGHTER}")
    expect(second.locator(".apply-result")).to_contain_text("Appended to the section (now version 5)")
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == f"{edited}\n\n{TIGHTER}"


def test_copy_puts_the_reply_text_on_the_clipboard(served, doc, model, new_page, browser):
    model.default = Reply(text="Copy **me**.")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = new_page(context=context)
        open_document(page, served.url, doc)
        send(page, "Say something")
        reply = assistant(page)
        expect(reply).to_have_attribute("data-status", "complete")
        reply.get_by_role("button", name="Copy").click()
        expect(reply.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == "Copy **me**."
    finally:
        context.close()
