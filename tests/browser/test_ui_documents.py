"""The documents page: create and open, add sections, rename, delete with confirmation."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import card

pytestmark = pytest.mark.browser


def test_create_a_document_and_two_sections(served, new_page):
    page = new_page(served.url + "/")
    expect(page.locator(".empty-state")).to_contain_text("No documents yet")
    page.locator("#new-doc-title").fill("Field study")
    page.locator("#new-doc-title").press("Enter")

    page.wait_for_url("**/documents/*")
    expect(page.locator("#doc-title")).to_have_text("Field study")
    expect(page.locator("#section-list .empty-state")).to_contain_text("No sections yet — add one")
    page.get_by_role("button", name="+ Add the first section").click()
    title = card(page, 0).locator(".sec-title")
    expect(title).to_be_focused()
    title.fill("Introduction")
    title.press("Enter")  # moves on to the text
    expect(card(page, 0).locator(".sec-content")).to_be_focused()
    page.keyboard.type("Why we went into the field.")

    page.locator("#add-section-end").click()
    expect(page.locator(".section-card")).to_have_count(2)
    expect(card(page, 1).locator(".sec-title")).to_be_focused()
    card(page, 1).locator(".sec-title").fill("Findings")
    card(page, 1).locator(".sec-content").fill("Teams write more when they chat.")
    card(page, 0).locator(".sec-title").click()  # leaving a field saves it
    expect(card(page, 1).locator(".sec-meta")).to_have_text("v2 · Saved")
    expect(page.locator("#section-count")).to_have_text("2 sections")

    docs = served.api("GET", "/api/documents")["documents"]
    assert [(d["title"], d["section_count"]) for d in docs] == [("Field study", 2)]
    saved = served.api("GET", f"/api/documents/{docs[0]['id']}")["sections"]
    assert [(s["title"], s["content"]) for s in saved] == [
        ("Introduction", "Why we went into the field."), ("Findings", "Teams write more when they chat.")]

    page.locator(".brand").click()
    row = page.locator(".doc-row", has_text="Field study")
    expect(row.locator(".doc-sections")).to_have_text("2 sections")
    expect(row.locator(".doc-updated")).to_have_text("just now")
    row.get_by_role("link", name="Open").click()
    expect(page.locator(".section-card")).to_have_count(2)


def test_rename_and_delete_with_confirmation(served, new_page):
    served.api("POST", "/api/documents", {"title": "Old name"})
    served.api("POST", "/api/documents", {"title": "Keep me"})
    page = new_page(served.url + "/")
    row = page.locator(".doc-row", has_text="Old name")
    row.get_by_role("button", name="Rename").click()
    field = page.get_by_label("New title")
    expect(field).to_be_focused()
    field.fill("Annual report")
    field.press("Enter")
    expect(page.locator(".doc-link", has_text="Annual report")).to_be_visible()
    assert {d["title"] for d in served.api("GET", "/api/documents")["documents"]} == {"Annual report", "Keep me"}

    page.locator(".doc-row", has_text="Annual report").get_by_role("button", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete “Annual report”")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert len(served.api("GET", "/api/documents")["documents"]) == 2

    page.locator(".doc-row", has_text="Annual report").get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".doc-link")).to_have_text(["Keep me"])
    assert [d["title"] for d in served.api("GET", "/api/documents")["documents"]] == ["Keep me"]
    assert page.probe.dialogs == []  # our own dialog, never the browser's confirm()


def test_unknown_document_gets_a_page_not_json(served, new_page):
    page = new_page()
    response = page.goto(served.url + "/documents/00000000-0000-4000-8000-000000000000")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("does not exist")
