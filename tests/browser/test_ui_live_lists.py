"""Lists and branches that follow live: a shared-with user's documents page shows a share, a rename and a share taken
away without a reload (and a document of theirs open says it is gone); the owner's list shows a document made in
another tab; a writer's second tab follows a branch switch, its typing kept, while a reader keeps their own branch."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import VIEWPORT
from .helpers import chain

pytestmark = pytest.mark.browser


def _context(browser: Any, user: str) -> Any:
    return browser.new_context(viewport=VIEWPORT, extra_http_headers={"X-Forwarded-User": user})


def _live_list(page: Any, url: str) -> None:
    page.goto(url + "/")
    expect(page.locator("#doc-list")).to_have_attribute("data-live", "live")


def test_a_shared_users_list_follows_a_share_a_rename_and_its_end(served_header, browser, new_page):
    served = served_header
    served.api("GET", "/api/me", user="bob")  # bob's account, made on first sight
    doc = served.api("POST", "/api/documents", {"title": "Team plan", "sections": [{"title": "Aims"}]}, user="alice")
    alice_ctx, bob_ctx = _context(browser, "alice"), _context(browser, "bob")
    try:
        bob = new_page(context=bob_ctx)
        _live_list(bob, served.url)
        expect(bob.locator(".empty-state")).to_contain_text("No documents yet")
        alice = new_page(context=alice_ctx)
        _live_list(alice, served.url)
        expect(alice.locator(".doc-link")).to_have_text(["Team plan"])

        served.api("PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "read"}, user="alice")
        row = bob.locator(f'.doc-row[data-id="{doc["id"]}"]')
        expect(row.locator(".doc-link")).to_have_text("Team plan")
        expect(row.locator(".doc-shared")).to_have_text("Shared with you")
        expect(row.get_by_role("button", name="Rename")).to_have_count(0)  # a reader's row

        served.api("PATCH", f"/api/documents/{doc['id']}", {"title": "Team plan 2027"}, user="alice")
        expect(row.locator(".doc-link")).to_have_text("Team plan 2027")
        served.api("PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "edit"}, user="alice")
        expect(row.get_by_role("button", name="Rename")).to_be_visible()  # an editor's row now

        # The owner's own list: a document made in another tab shows at the top, and goes when deleted there.
        other = served.api("POST", "/api/documents", {"title": "Budget notes"}, user="alice")
        expect(alice.locator(".doc-link")).to_have_text(["Budget notes", "Team plan 2027"])
        served.api("DELETE", f"/api/documents/{other['id']}", user="alice")
        expect(alice.locator(".doc-link")).to_have_text(["Team plan 2027"])

        reading = new_page(context=bob_ctx)
        reading.goto(f"{served.url}/documents/{doc['id']}")
        expect(reading.locator(".section-card")).to_have_count(1)
        served.api("DELETE", f"/api/documents/{doc['id']}/shares/bob", user="alice")
        expect(row).to_have_count(0)
        expect(bob.locator(".empty-state")).to_contain_text("No documents yet")
        expect(reading.locator(".toast")).to_contain_text("you no longer have access to it")
    finally:
        alice_ctx.close()
        bob_ctx.close()


def _open_chat(page: Any, url: str, doc: dict) -> Any:
    page.goto(f"{url}/documents/{doc['id']}")
    page.locator(".section-card").first.locator(".sec-title").click()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
    return page.locator("#messages .msg-user").last


def test_a_writers_other_tab_follows_a_branch_switch_and_a_reader_keeps_theirs(served_header, browser, new_page):
    served = served_header
    served.api("GET", "/api/me", user="bob")
    doc = served.api("POST", "/api/documents", {"title": "Plan", "sections": [{"title": "Aims"}]}, user="alice")
    served.api("PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "read"}, user="alice")
    section = doc["sections"][0]["id"]
    chat = served.api("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {}, user="alice")
    first = chain(served, chat["id"], None, ["First question", "First answer", "Question A", "Answer A"])
    chain(served, chat["id"], first[1].id, ["Question B", "Answer B"])  # the active branch: written last
    alice_ctx, bob_ctx = _context(browser, "alice"), _context(browser, "bob")
    try:
        one, two = new_page(context=alice_ctx), new_page(context=alice_ctx)
        in_one, in_two = _open_chat(one, served.url, doc), _open_chat(two, served.url, doc)
        expect(in_two.locator(".msg-text")).to_have_text("Question B")
        bob = new_page(context=bob_ctx)
        in_bob = _open_chat(bob, served.url, doc)
        in_bob.locator(".branch-prev").click()  # bob's own branch, kept in his browser
        expect(in_bob.locator(".msg-text")).to_have_text("Question A")

        bob.locator("#messages .msg").first.evaluate("node => { node.dataset.before = '1'; }")
        two.locator("#composer-input").fill("Half a thought")
        in_one.locator(".branch-prev").click()  # alice switches the chat's branch in her first tab
        expect(in_one.locator(".msg-text")).to_have_text("Question A")
        expect(in_two.locator(".msg-text")).to_have_text("Question A")  # her other tab follows
        expect(in_two.locator(".branch-count")).to_have_text("1 / 2")
        expect(two.locator("#messages .msg-assistant").last.locator(".msg-body")).to_have_text("Answer A")
        expect(two.locator("#composer-input")).to_have_value("Half a thought")  # the typing is kept
        assert two.locator("#messages").evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 48")

        # Bob chose A himself: back to B in alice's tab, bob stays on A (his), alice's other tab shows B.
        in_one.locator(".branch-next").click()
        expect(in_two.locator(".msg-text")).to_have_text("Question B")
        bob.wait_for_timeout(300)
        expect(in_bob.locator(".msg-text")).to_have_text("Question A")
        expect(bob.locator("#messages .msg[data-before]")).to_have_count(1)  # not even drawn again
        assert served.api("GET", f"/api/sessions/{chat['id']}", user="alice")["shown_leaf"] \
            == two.locator("#messages .msg-assistant").last.get_attribute("data-id")
    finally:
        alice_ctx.close()
        bob_ctx.close()
