"""Typing in a section while someone else changes its other field: both changes are kept, no conflict to settle."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import card, open_document

pytestmark = pytest.mark.browser


def saved_section(served, doc) -> tuple[str, str]:
    section = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    return section["title"], section["content"]


def test_a_rename_elsewhere_while_the_text_is_typed_here_keeps_both(served, doc, new_page):
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    page = new_page()
    open_document(page, served.url, doc)
    expect(page.locator("#section-list")).to_have_attribute("data-live", "live")
    first = card(page, 0)
    title, content = first.locator(".sec-title"), first.locator(".sec-content")
    conflict, meta = first.locator(".conflict"), first.locator(".sec-meta")

    content.fill("My unsaved words.")  # saved only after a pause: still being typed
    served.api("PATCH", url, {"version": 1, "title": "Abstract"})  # a title change makes no new version
    expect(title).to_have_value("Abstract")  # their title comes in ...
    expect(content).to_have_value("My unsaved words.")  # ... beside the typing
    expect(meta).to_have_text("v2 · Saved")
    expect(conflict).to_be_hidden()  # nothing to choose between: each changed a different field
    assert saved_section(served, doc) == ("Abstract", "My unsaved words.")

    # The other way round: a new text from elsewhere while the title is being typed here.
    title.fill("Abstract and aims")
    served.api("PATCH", url, {"version": 2, "content": "Their words."})
    expect(content).to_have_value("Their words.")
    expect(title).to_have_value("Abstract and aims")
    expect(meta).to_have_text("v3 · Saved")
    expect(conflict).to_be_hidden()
    assert saved_section(served, doc) == ("Abstract and aims", "Their words.")

    # The same field changed on both sides is still the user's choice, and says what changed.
    title.fill("My title")
    served.api("PATCH", url, {"version": 3, "title": "Their title"})
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("its title is now “Their title”")
    expect(title).to_have_value("My title")
