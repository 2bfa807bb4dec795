"""Sharing in the browser: the owner's Share dialog, a read-only view for readers, edit after an upgrade, revoking."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import card, sign_in, sign_out, sign_up

pytestmark = pytest.mark.browser


def new_document(page, title: str) -> str:
    """Create a document with one section through the page, as its owner; returns its URL."""
    page.locator("#new-doc-title").fill(title)
    page.locator("#new-doc-title").press("Enter")
    page.wait_for_url("**/documents/*")
    page.locator("#add-section-end").click()
    card(page, 0).locator(".sec-content").fill("Alice's opening paragraph.")
    card(page, 0).locator(".sec-content").blur()
    expect(card(page, 0).locator(".sec-meta")).to_contain_text("v2")
    return page.url


def share_dialog(page):
    page.locator("#share-btn").click()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_read_share_then_edit_then_revoked(served_accounts, new_page):
    base = served_accounts.url
    alice = new_page(base + "/signup")
    sign_up(alice, "alice")
    alice.wait_for_url(base + "/")
    sign_out(alice)
    alice.get_by_role("link", name="Create one").click()
    sign_up(alice, "bob")  # open sign-up: Bob makes his account in this browser, then Alice signs back in
    alice.wait_for_url(base + "/")
    sign_out(alice)
    sign_in(alice, "alice")
    alice.wait_for_url(base + "/")
    doc_url = new_document(alice, "Team plan")

    dialog = share_dialog(alice)
    expect(dialog.locator(".share-empty")).to_have_text("Not shared with anyone yet.")
    dialog.locator("#share-username").fill("nobody")
    dialog.locator("#share-form button[type=submit]").click()
    expect(dialog.locator("#share-error")).to_have_text("No user with that name: the document was not shared.")
    dialog.locator("#share-username").fill("bob")
    dialog.locator("#share-access").select_option("read")
    dialog.locator("#share-form button[type=submit]").click()
    expect(dialog.locator("#share-error")).to_be_hidden()
    bob_row = dialog.locator('.share-row[data-username="bob"]')
    expect(bob_row.locator(".share-level")).to_have_value("read")

    bob = new_page(base + "/signin")
    sign_in(bob, "bob")
    bob.wait_for_url(base + "/")
    expect(bob.locator(".doc-link")).to_have_text(["Team plan"])
    bob.locator(".doc-link").click()
    bob.wait_for_url(doc_url)
    expect(bob.locator("#readonly-badge")).to_have_text("Read only — shared by alice")
    expect(bob.locator("#share-btn")).to_be_hidden()
    section = card(bob, 0)
    expect(section.locator(".sec-content")).to_have_value("Alice's opening paragraph.")
    expect(section.locator(".sec-content")).not_to_be_editable()
    expect(section.locator(".sec-title")).not_to_be_editable()
    expect(section.locator(".sec-type")).to_be_disabled()
    for control in ("Move up", "Move down", "Delete section"):
        expect(section.get_by_label(control, exact=True)).to_be_hidden()
    expect(bob.locator("#add-section-end")).to_be_hidden()
    expect(bob.locator(".insert-btn")).to_have_count(0)
    section.locator(".sec-title").click()
    expect(bob.locator("#composer-input")).to_be_disabled()
    expect(bob.locator("#composer-note")).to_contain_text("Read only")
    expect(bob.locator("#new-session")).to_be_hidden()
    section.get_by_label("Section history").click()
    expect(section.locator(".history-item")).to_have_count(2)
    expect(section.get_by_role("button", name="Revert to this")).to_have_count(0)

    # Alice gives Bob edit rights: after a reload Bob edits the section.
    bob_row.locator(".share-level").select_option("edit")
    expect(alice.locator('.share-row[data-username="bob"] .share-level')).to_have_value("edit")
    bob.reload()
    expect(bob.locator("#readonly-badge")).to_be_hidden()
    text = card(bob, 0).locator(".sec-content")
    expect(text).to_be_editable()
    text.fill("Bob's better paragraph.")
    text.blur()
    expect(card(bob, 0).locator(".sec-meta")).to_contain_text("Saved")
    card(bob, 0).locator(".sec-title").click()
    expect(bob.locator("#composer-input")).to_be_enabled()
    alice.reload()
    expect(card(alice, 0).locator(".sec-content")).to_have_value("Bob's better paragraph.")

    # Alice takes the share away: Bob's page is not found after a reload.
    dialog = share_dialog(alice)
    dialog.get_by_role("button", name="Remove bob").click()
    expect(dialog.locator(".share-empty")).to_be_visible()
    response = bob.reload()
    assert response.status == 404
    expect(bob.locator("h1")).to_contain_text("Not found")
    expect(bob.locator("body")).not_to_contain_text("Bob's better paragraph")


def test_a_chat_of_someone_else_is_read_only(served_accounts, new_page):
    base = served_accounts.url
    alice = new_page(base + "/signup")
    sign_up(alice, "alice")
    alice.wait_for_url(base + "/")
    sign_out(alice)
    alice.get_by_role("link", name="Create one").click()
    sign_up(alice, "bob")
    alice.wait_for_url(base + "/")
    sign_out(alice)
    sign_in(alice, "alice")
    alice.wait_for_url(base + "/")
    doc_url = new_document(alice, "Team plan")
    card(alice, 0).locator(".sec-title").click()
    alice.locator("#composer-input").fill("Tighten this")
    alice.locator("#composer-input").press("Enter")
    expect(alice.locator("#messages .msg-assistant .msg-actions")).to_be_visible()
    share_dialog(alice)
    alice.locator("#share-username").fill("bob")
    alice.locator("#share-access").select_option("edit")
    alice.locator("#share-form button[type=submit]").click()
    expect(alice.locator('.share-row[data-username="bob"] .share-level')).to_have_value("edit")

    bob = new_page(base + "/signin")
    sign_in(bob, "bob")
    bob.wait_for_url(base + "/")
    bob.goto(doc_url)
    card(bob, 0).locator(".sec-title").click()
    expect(bob.locator("#messages .msg-assistant")).to_have_count(1)
    # Alice's chat: Bob reads it, cannot write to it or apply from it, and may start his own.
    expect(bob.locator("#composer-input")).to_be_disabled()
    expect(bob.locator("#composer-note")).to_contain_text("belongs to someone else")
    expect(bob.locator("#messages .apply-menu")).to_have_count(0)
    expect(bob.locator("#rename-session")).to_be_hidden()
    expect(bob.locator("#delete-session")).to_be_hidden()
    bob.locator("#new-session").click()
    expect(bob.locator("#composer-input")).to_be_enabled()
    expect(bob.locator("#composer-note")).to_be_hidden()
