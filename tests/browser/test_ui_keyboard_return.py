"""Keyboard users: after a review, a rename or a cancel, the focus comes back to where it was (not to the page)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import assistant, open_document, send

pytestmark = pytest.mark.browser


def test_cancelling_the_review_of_an_apply_returns_to_the_apply_menu(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Make it tighter.")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    menu = reply.locator(".apply-menu summary")
    menu.focus()
    page.keyboard.press("Enter")
    choice = reply.get_by_role("button", name="Replace the section text")
    expect(choice).to_be_visible()
    page.keyboard.press("Tab")
    expect(choice).to_be_focused()
    page.keyboard.press("Enter")
    review = page.locator(".review-dialog")
    expect(review).to_be_visible()
    page.keyboard.press("Escape")
    expect(review).to_have_count(0)
    expect(menu).to_be_focused()


def test_renaming_a_chat_with_the_keyboard_returns_to_rename(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "First question")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    rename = page.locator("#rename-session")
    rename.focus()
    page.keyboard.press("Enter")
    field = page.locator(".session-rename")
    expect(field).to_be_focused()
    page.keyboard.press("Escape")
    expect(field).to_have_count(0)
    expect(rename).to_be_focused()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    field.fill("Budget questions")
    page.keyboard.press("Enter")
    expect(page.locator("#session-select option:checked")).to_have_text("Budget questions")
    expect(rename).to_be_focused()


def test_renaming_a_document_with_the_keyboard_returns_to_rename(served, doc, new_page):
    page = new_page(served.url + "/")
    row = page.locator(f'.doc-row[data-id="{doc["id"]}"]')
    rename = row.get_by_role("button", name="Rename")
    rename.focus()
    page.keyboard.press("Enter")
    field = page.get_by_label("New title")
    expect(field).to_be_focused()
    page.keyboard.press("Escape")
    expect(row.locator(".doc-link")).to_have_text("Grant proposal")
    expect(rename).to_be_focused()
    page.keyboard.press("Enter")
    field.fill("Grant proposal, second round")
    page.keyboard.press("Enter")
    expect(row.locator(".doc-link")).to_have_text("Grant proposal, second round")
    expect(row.get_by_role("button", name="Rename")).to_be_focused()
