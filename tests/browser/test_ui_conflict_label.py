"""A section card in conflict keeps saying "Conflict" while the user types on, until they choose."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import card, open_document

pytestmark = pytest.mark.browser


def section_url(served, doc) -> str:
    return f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"


def test_typing_during_a_live_conflict_keeps_the_conflict_label(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    expect(page.locator("#section-list")).to_have_attribute("data-live", "live")
    content, meta = card(page, 0).locator(".sec-content"), card(page, 0).locator(".sec-meta")
    content.fill("My words.")  # saved only after a pause: still being edited
    served.api("PATCH", section_url(served, doc), {"version": 1, "content": "Their words."})
    conflict = card(page, 0).locator(".conflict")
    expect(conflict).to_be_visible()
    expect(meta).to_have_text("v1 · Conflict")

    content.press("End")
    content.press_sequentially(" And more.")
    expect(content).to_have_value("My words. And more.")
    page.wait_for_timeout(1500)  # past the autosave, which waits for the choice
    expect(meta).to_have_text("v1 · Conflict")
    expect(card(page, 0)).not_to_have_class(re.compile(r"\bis-dirty\b"))
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "Their words."

    conflict.get_by_role("button", name="Use their version").click()
    expect(conflict).to_be_hidden()
    expect(content).to_have_value("Their words.")
    expect(meta).to_have_text("v2")
    content.press_sequentially(" Mine.")  # no conflict any more: typing is unsaved changes again
    expect(meta).to_have_text("v2 · Unsaved changes")


def test_typing_after_a_save_found_a_conflict_keeps_the_label_until_kept(served, doc, new_page):
    url = f"{served.url}/documents/{doc['id']}"
    page = new_page()
    page.route_web_socket(re.compile(r"/ws/documents/"), lambda ws: None)  # deaf: the save finds out
    page.goto(url)
    content, meta = card(page, 0).locator(".sec-content"), card(page, 0).locator(".sec-meta")
    expect(content).to_have_value(doc["sections"][0]["content"])
    served.api("PATCH", section_url(served, doc), {"version": 1, "content": "Their text."})

    content.fill("My text.")
    content.blur()
    conflict = card(page, 0).locator(".conflict")
    expect(conflict).to_be_visible()
    expect(meta).to_have_text("v1 · Conflict")
    content.focus()
    content.press("End")
    content.press_sequentially(" More.")
    content.blur()  # a blur saves a dirty card: it waits for the choice too
    expect(meta).to_have_text("v1 · Conflict")

    conflict.get_by_role("button", name="Keep my text").click()
    expect(conflict).to_be_hidden()
    expect(meta).to_have_text("v3 · Saved")
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "My text. More."
