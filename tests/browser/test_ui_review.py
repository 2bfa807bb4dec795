"""Reviewing AI edits in the browser: accept some changes and reject others, history diffs, reviewed reverts."""
from __future__ import annotations

from pathlib import Path

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, card, open_document, send

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-review.png"
ORIGINAL = "We ask for funding. The budget is 40,000 euros over two years."
REPLY = "We request funding. The budget is 50,000 euros over three years."


def console_errors(page) -> list[str]:
    """Every console error of the page from now on (the fixture fails on CSP errors and uncaught ones)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def apply(reply, label: str) -> None:
    reply.locator(".apply-menu summary").click()
    reply.get_by_role("button", name=label).click()


def test_a_review_saves_exactly_the_accepted_changes_as_one_version_linked_to_the_reply(served, doc, model, new_page):
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.default = Reply(text=REPLY)
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 820})
    errors = console_errors(page)
    open_document(page, served.url, doc)
    content = card(page, 0).locator(".sec-content")
    send(page, "Tighten this")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")

    apply(reply, "Replace the section text")
    dialog = page.locator("dialog.review-dialog")
    expect(dialog).to_be_visible()
    changes = dialog.locator(".diff-change")
    expect(changes).to_have_count(3)
    expect(dialog.locator(".review-count")).to_have_text("3 of 3 changes accepted")
    expect(changes.nth(0)).to_have_attribute("aria-label", "Change 1 of 3: replace “ask for” with “request” (accepted)")
    # Nothing is saved while the user reviews.
    assert served.api("GET", section_url + "/versions")["current_version"] == 1

    changes.nth(0).click()  # reject "request": keep "ask for"
    changes.nth(2).focus()
    page.keyboard.press("Space")  # reject "three" from the keyboard
    expect(changes.nth(0)).to_have_attribute("aria-pressed", "false")
    expect(changes.nth(2)).to_have_attribute("aria-pressed", "false")
    expect(dialog.locator(".review-count")).to_have_text("1 of 3 changes accepted")
    kept = "We ask for funding. The budget is 50,000 euros over two years."
    expect(dialog.locator(".review-result")).to_have_value(kept)
    page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(content).to_have_value(kept)
    expect(reply.locator(".apply-result")).to_contain_text("Replaced the section text (now version 2)")
    versions = served.api("GET", section_url + "/versions")["versions"]
    assert [v["version"] for v in versions] == [1, 2]  # exactly one new version
    assert versions[-1]["content"] == kept
    assert versions[-1]["source"] == {"kind": "chat", "message_id": reply.get_attribute("data-id"),
                                      "session_id": versions[-1]["source"]["session_id"], "mode": "replace",
                                      "reviewed": True, "user": "local"}
    expect(reply.locator(".msg-stale")).to_be_hidden()

    # Undo: the note says so (no "Replaced … Undo" any more), and the reply is not stale: the text is the
    # one it was written for again, at version 3.
    reply.locator(".apply-result").get_by_role("button", name="Undo").click()
    expect(content).to_have_value(ORIGINAL)
    expect(reply.locator(".apply-result")).to_contain_text("Undone")
    expect(reply.locator(".apply-result").get_by_role("button", name="Undo")).to_have_count(0)
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v3")
    expect(reply.locator(".msg-stale")).to_be_hidden()

    # A real change of the text makes it stale.
    content.fill(ORIGINAL + " Travel included.")
    content.blur()
    expect(card(page, 0).locator(".sec-meta")).to_contain_text("v4")
    expect(reply.locator(".msg-stale")).to_contain_text("Based on version 1; the section has changed (now version 4)")
    assert errors == []


def test_cancel_saves_nothing_and_accept_all_reject_all_and_hand_edits(served, doc, model, new_page):
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.default = Reply(text="A closing line.")
    page = new_page()
    errors = console_errors(page)
    open_document(page, served.url, doc)
    send(page, "One more line")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")

    apply(reply, "Append to the section")
    dialog = page.locator("dialog.review-dialog")
    expect(dialog.locator(".diff-change")).to_have_count(1)
    expect(dialog.locator(".diff-ins")).to_have_text("\n\nA closing line.")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert served.api("GET", section_url + "/versions")["current_version"] == 1
    expect(reply.locator(".apply-result")).to_be_hidden()

    apply(reply, "Append to the section")
    result = dialog.locator(".review-result")
    dialog.get_by_role("button", name="Reject all").click()
    expect(result).to_have_value(ORIGINAL)
    expect(dialog.get_by_role("button", name="Save", exact=True)).to_be_disabled()  # nothing would change
    dialog.get_by_role("button", name="Accept all").click()
    expect(result).to_have_value(f"{ORIGINAL}\n\nA closing line.")
    result.fill(f"{ORIGINAL}\n\nA closing line, edited.")
    expect(dialog.locator(".review-note")).to_contain_text("You edited the result by hand")
    expect(dialog.get_by_role("button", name="Reject all")).to_be_disabled()
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(card(page, 0).locator(".sec-content")).to_have_value(f"{ORIGINAL}\n\nA closing line, edited.")
    expect(reply.locator(".apply-result")).to_contain_text("Appended to the section (now version 2)")
    last = served.api("GET", section_url + "/versions")["versions"][-1]
    assert (last["version"], last["source"]["mode"], last["source"]["reviewed"]) == (2, "append", True)
    assert errors == []


def test_history_shows_each_versions_changes_and_a_revert_is_reviewed(served, doc, new_page):
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    served.api("PATCH", section_url, {"version": 1, "content": ORIGINAL.replace("two", "three")})
    served.api("PATCH", section_url, {"version": 2, "content": ORIGINAL.replace("two", "four")})
    page = new_page()
    errors = console_errors(page)
    open_document(page, served.url, doc)
    section = card(page, 0)
    section.get_by_role("button", name="Section history").click()
    rows = section.locator(".history-item")
    expect(rows).to_have_count(3)  # newest first
    rows.nth(0).get_by_role("button", name="Show changes").click()
    diff = rows.nth(0).locator(".history-diff")
    expect(diff).to_contain_text("Changes from version 2 to 3 (1 change)")
    expect(diff.locator(".diff-del")).to_have_text("three")
    expect(diff.locator(".diff-ins")).to_have_text("four")
    rows.nth(2).get_by_role("button", name="Show changes").click()
    expect(rows.nth(2).locator(".history-diff")).to_contain_text("Version 1: the first text")
    rows.nth(0).get_by_role("button", name="Hide changes").click()
    expect(diff).to_have_count(0)

    # Reverting opens a review of the old text against the current one.
    rows.nth(2).get_by_role("button", name="Revert to this").click()
    dialog = page.locator("dialog.review-dialog")
    expect(dialog.locator("#review-title")).to_have_text("Review: revert to version 1")
    expect(dialog.locator(".diff-del")).to_have_text("four")
    expect(dialog.locator(".diff-ins")).to_have_text("two")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert served.api("GET", section_url + "/versions")["current_version"] == 3

    section.locator(".history-item").nth(2).get_by_role("button", name="Revert to this").click()
    dialog.locator(".review-result").fill(ORIGINAL.replace("two", "two and a half"))
    dialog.get_by_role("button", name="Save the revert").click()
    expect(dialog).to_have_count(0)
    expect(section.locator(".sec-content")).to_have_value(ORIGINAL.replace("two", "two and a half"))
    last = served.api("GET", section_url + "/versions")["versions"][-1]
    assert last["source"] == {"kind": "revert", "from_version": 1, "reviewed": True, "user": "local"}
    assert last["version"] == 4
    assert errors == []


def test_the_review_fits_a_phone(served, doc, model, new_page, tmp_path):
    model.default = Reply(text=REPLY + "\n\n" + "A long second paragraph that wraps. " * 20)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    open_document(page, served.url, doc)
    send(page, "Tighten this")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    apply(reply, "Replace the section text")
    dialog = page.locator("dialog.review-dialog")
    expect(dialog).to_be_visible()
    page.screenshot(path=str(tmp_path / "review-390.png"))
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    for name in ("Save", "Cancel", "Accept all", "Reject all"):
        button = dialog.get_by_role("button", name=name, exact=True).bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= 390, name
