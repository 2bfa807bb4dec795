"""The sections pane: type, level, status, order, insert at a position, delete, history, conflicts."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import card, expect_section_titles

pytestmark = pytest.mark.browser


def titles(served, doc) -> list[str]:
    return [s["title"] for s in served.api("GET", f"/api/documents/{doc['id']}")["sections"]]


def test_section_tools(served, doc, new_page):
    page = new_page(f"{served.url}/documents/{doc['id']}")
    first = card(page, 0)
    first.locator(".sec-type").select_option("header")
    first.locator(".sec-level").select_option("2")
    first.locator(".status-badge").select_option("reviewed")
    expect(first).to_have_attribute("data-type", "header")
    expect(first.locator(".status-badge")).to_have_attribute("data-status", "reviewed")
    page.wait_for_function(
        "url => fetch(url).then(r => r.json()).then(d => d.sections[0].status === 'reviewed')",
        arg=f"/api/documents/{doc['id']}")
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["type"], saved["level"], saved["status"]) == ("header", 2, "reviewed")

    # Move down with the button, back up with the keyboard.
    first.get_by_role("button", name="Move down").click()
    expect_section_titles(page, ["Methods", "Summary"])
    assert titles(served, doc) == ["Methods", "Summary"]
    card(page, 1).locator(".sec-title").press("Alt+ArrowUp")
    expect_section_titles(page, ["Summary", "Methods"])
    assert titles(served, doc) == ["Summary", "Methods"]

    # Add a section between the two.
    page.locator(".insert-slot").nth(1).hover()
    page.locator(".insert-slot").nth(1).get_by_role("button").click()
    expect_section_titles(page, ["Summary", "New section", "Methods"])
    card(page, 1).locator(".sec-title").fill("Background")
    card(page, 1).locator(".sec-title").press("Tab")
    expect(card(page, 1).locator(".sec-meta")).to_contain_text("Saved")
    assert titles(served, doc) == ["Summary", "Background", "Methods"]

    # Delete it, after a confirmation.
    card(page, 1).get_by_role("button", name="Delete").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect_section_titles(page, ["Summary", "Methods"])
    assert titles(served, doc) == ["Summary", "Methods"]


def test_history_and_revert(served, doc, new_page):
    page = new_page(f"{served.url}/documents/{doc['id']}")
    content = card(page, 0).locator(".sec-content")
    original = doc["sections"][0]["content"]
    status = card(page, 0).locator(".status-badge")
    with page.expect_response(lambda r: r.request.method == "PATCH"):  # saved before the text changes
        status.select_option("approved")  # version 1 was approved when it was replaced: a revert brings that back
    content.fill("Second draft.")
    content.press("Control+s")
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v2 · Saved")
    with page.expect_response(lambda r: r.request.method == "PATCH"):
        status.select_option("draft")
    content.fill("Third draft.")
    content.blur()
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v3 · Saved")

    card(page, 0).get_by_role("button", name="History").click()
    items = card(page, 0).locator(".history-item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("current")
    expect(items.last).to_contain_text("v1")
    items.last.get_by_role("button", name="Revert to this").click()
    page.locator("dialog.review-dialog").get_by_role("button", name="Save the revert").click()  # a reviewed change
    expect(content).to_have_value(original)
    expect(items).to_have_count(4)
    expect(items.first).to_contain_text("Reverted to version 1; status back to approved")
    expect(status).to_have_value("approved")
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["content"], saved["version"], saved["status"]) == (original, 4, "approved")


def test_a_conflicting_edit_is_reported_and_resolved(served, doc, new_page):
    url = f"{served.url}/documents/{doc['id']}"
    mine, theirs = new_page(), new_page()
    for page in (mine, theirs):  # deaf to each other (their document sockets never connect): the save finds out
        page.route_web_socket(re.compile(r"/ws/documents/"), lambda ws: None)
        page.goto(url)
    expect(card(mine, 0).locator(".sec-content")).to_have_value(doc["sections"][0]["content"])
    expect(card(theirs, 0).locator(".sec-content")).to_have_value(doc["sections"][0]["content"])

    card(theirs, 0).locator(".sec-content").fill("Their text.")
    card(theirs, 0).locator(".sec-content").blur()
    expect(card(theirs, 0).locator(".sec-meta")).to_have_text("v2 · Saved")

    card(mine, 0).locator(".sec-content").fill("My text.")
    card(mine, 0).locator(".sec-content").blur()
    conflict = card(mine, 0).locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("This section was changed elsewhere")
    expect(conflict).to_contain_text("version 2")
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "Their text."

    conflict.get_by_role("button", name="Keep my text").click()
    expect(conflict).to_be_hidden()
    expect(card(mine, 0).locator(".sec-meta")).to_have_text("v3 · Saved")
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "My text."

    # The other page now holds a stale version: it can take the newer text instead.
    card(theirs, 0).locator(".sec-content").fill("Their second try.")
    card(theirs, 0).locator(".sec-content").blur()
    other = card(theirs, 0).locator(".conflict")
    expect(other).to_be_visible()
    other.get_by_role("button", name="Use their version").click()
    expect(card(theirs, 0).locator(".sec-content")).to_have_value("My text.")
    expect(other).to_be_hidden()
