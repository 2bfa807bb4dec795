"""What a person a document is shared with sees: only the actions they may take, and no stray words."""
from __future__ import annotations

from typing import Any

import pytest
from auth_helpers import PASSWORD
from playwright.sync_api import expect

from .helpers import card

pytestmark = pytest.mark.browser

CSRF = {"X-VICE-CSRF": "1"}


def account(new_page, base: str, username: str):
    """A page signed in as a new account (made through the API, as the sign-up page would)."""
    page = new_page()
    answer = page.request.post(base + "/api/auth/signup", data={"username": username, "password": PASSWORD},
                               headers=CSRF)
    assert answer.status == 201, answer.text()
    return page


def call(page, method: str, url: str, body: Any = None) -> Any:
    answer = page.request.fetch(url, method=method, data=body, headers=CSRF)
    assert answer.ok, f"{method} {url}: {answer.status} {answer.text()}"
    return answer.json()


def test_a_shared_documents_row_offers_only_what_its_reader_or_editor_may_do(served_accounts, new_page):  # noqa: F811
    base = served_accounts.url
    alice = account(new_page, base, "alice")
    bob = account(new_page, base, "bob")
    mine = call(bob, "POST", base + "/api/documents", {"title": "Bob's own notes"})
    for title, access in (("Edited together", "edit"), ("Read only here", "read")):
        doc = call(alice, "POST", base + "/api/documents", {"title": title})
        call(alice, "PUT", f"{base}/api/documents/{doc['id']}/shares/bob", {"access": access})

    bob.goto(base + "/")
    rows = bob.locator(".doc-row[data-id]")
    expect(rows).to_have_count(3)
    own = bob.locator(f'.doc-row[data-id="{mine["id"]}"]')
    edit = rows.filter(has_text="Edited together")
    read = rows.filter(has_text="Read only here")
    # The owner may rename and delete; an editor may rename; a reader may only open.
    expect(own.get_by_role("button", name="Delete")).to_be_visible()
    expect(own.get_by_role("button", name="Rename")).to_be_visible()
    expect(edit.get_by_role("button", name="Rename")).to_be_visible()
    for row in (edit, read):
        expect(row.get_by_role("button", name="Delete")).to_have_count(0)
        expect(row.locator(".doc-shared")).to_have_text("Shared with you")
    expect(read.get_by_role("button", name="Rename")).to_have_count(0)
    expect(own.locator(".doc-shared")).to_have_count(0)
    expect(read.get_by_role("link", name="Open")).to_be_visible()


def test_an_out_of_date_reply_in_someone_elses_chat_reads_without_stray_words(served_accounts, new_page):  # noqa: F811
    base = served_accounts.url
    alice = account(new_page, base, "alice")
    bob = account(new_page, base, "bob")
    doc = call(alice, "POST", base + "/api/documents", {
        "title": "Plan", "sections": [{"title": "Summary", "content": "We ask for funding."}]})
    section = doc["sections"][0]
    call(alice, "PUT", f"{base}/api/documents/{doc['id']}/shares/bob", {"access": "edit"})
    chat = call(alice, "POST", f"{base}/api/documents/{doc['id']}/sections/{section['id']}/sessions", {})
    call(alice, "POST", f"{base}/api/sessions/{chat['id']}/messages", {"content": "Make it tighter."})
    # The section changes after the reply: the reply is out of date.
    call(alice, "PATCH", f"{base}/api/documents/{doc['id']}/sections/{section['id']}",
         {"version": section["version"], "content": "We ask for 40,000 euros."})

    bob.goto(f"{base}/documents/{doc['id']}")
    card(bob, 0).locator(".sec-title").click()
    stale = bob.locator("#messages .msg-assistant .msg-stale")
    expect(stale).to_contain_text("the section has changed")
    # Bob may not write in Alice's chat, so there is no "Ask again" for him, and nothing in its place.
    expect(stale.get_by_role("button", name="Ask again")).to_have_count(0)
    expect(stale).not_to_contain_text("null")
