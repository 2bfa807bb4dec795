"""Asking about a selection: the floating control and its shortcuts, the quoted passage, replacing only it."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, card, open_document

pytestmark = pytest.mark.browser

PASSAGE = "The budget is 40,000 euros over two years."
NEW = "We ask for 40,000 euros across two years."


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def _select(page, text: str, index: int = 0) -> None:
    """Select `text` in a section's textarea, as a user dragging over it would."""
    area = card(page, index).locator(".sec-content")
    area.click()
    area.evaluate("(el, text) => { const i = el.value.indexOf(text); el.setSelectionRange(i, i + text.length); }", text)
    box = area.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.up()  # the control appears where the mouse lets go


def _replace_passage(reply) -> None:
    reply.locator(".apply-menu summary").click()
    reply.get_by_role("button", name="Replace the passage").click()


def _save_review(page) -> None:
    """Replacing a passage is reviewed like every applied reply: save the review as it stands."""
    review = page.locator("dialog.review-dialog")
    expect(review).to_be_visible()
    review.get_by_role("button", name="Save", exact=True).click()
    expect(review).to_be_hidden()


def test_select_and_rewrite_replaces_only_the_passage(served, doc, model, new_page):
    original = doc["sections"][0]["content"]
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.default = Reply(text=NEW)
    page = new_page()
    errors = _console_errors(page)
    open_document(page, served.url, doc)
    _select(page, PASSAGE)
    bar = page.locator(".selection-bar")
    expect(bar).to_be_visible()
    bar.get_by_role("button", name="Rewrite this").click()
    chip = page.locator(".passage-chip")
    expect(chip).to_be_visible()
    expect(chip.locator(".passage-text")).to_have_text(PASSAGE)
    composer = page.locator("#composer-input")
    expect(composer).to_have_value("Rewrite this passage so it reads more clearly.")
    expect(composer).to_be_focused()
    composer.press("Enter")

    user = page.locator("#messages .msg-user").last
    expect(user.locator(".passage-quote .passage-text")).to_have_text(PASSAGE)
    expect(chip).to_be_hidden()  # sent with this message only
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".passage-quote .passage-text")).to_have_text(PASSAGE)
    system = model.chat_requests[-1].json["messages"][0]["content"]
    assert f">\n{PASSAGE}\n</selected_passage>" in system

    _replace_passage(reply)
    _save_review(page)
    expected = original.replace(PASSAGE, NEW)
    expect(card(page, 0).locator(".sec-content")).to_have_value(expected)
    expect(reply.locator(".apply-result")).to_contain_text("Replaced the passage (now version 2)")
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["content"], saved["version"]) == (expected, 2)
    # Everything but the passage is byte for byte what it was.
    start = original.index(PASSAGE)
    assert saved["content"][:start] == original[:start]
    assert saved["content"][start + len(NEW):] == original[start + len(PASSAGE):]
    versions = served.api("GET", section_url + "/versions")["versions"]
    assert len(versions) == 2
    assert versions[-1]["source"]["message_id"] == reply.get_attribute("data-id")
    assert versions[-1]["source"]["mode"] == "passage"
    assert errors == []


def test_the_shortcut_asks_and_the_reply_shows_its_passage(served, doc, model, new_page):
    model.default = Reply(text="It is the total for both years.")
    page = new_page()
    errors = _console_errors(page)
    open_document(page, served.url, doc)
    area = card(page, 0).locator(".sec-content")
    area.click()
    area.evaluate("(el, text) => { const i = el.value.indexOf(text); el.setSelectionRange(i, i + text.length); }",
                  "40,000 euros")
    area.press("Alt+Shift+A")
    expect(page.locator(".passage-chip .passage-text")).to_have_text("40,000 euros")
    composer = page.locator("#composer-input")
    expect(composer).to_have_value("")
    expect(composer).to_be_focused()
    # The chip can be removed, and put back with the shortcut.
    page.get_by_role("button", name="Remove the passage").click()
    expect(page.locator(".passage-chip")).to_be_hidden()
    area.focus()
    area.press("Alt+Shift+A")
    composer.fill("Is this per year?")
    composer.press("Enter")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    quote = reply.locator(".passage-quote")
    expect(quote).to_contain_text("40,000 euros")
    sent = model.chat_requests[-1].json["messages"]
    assert sent[-1]["content"] == '[About the selected passage: "40,000 euros"]\nIs this per year?'

    # Clicking the quote selects the passage in the section.
    area.evaluate("el => el.setSelectionRange(0, 0)")
    quote.click()
    picked = area.evaluate("el => el.value.slice(el.selectionStart, el.selectionEnd)")
    assert picked == "40,000 euros"
    # Alt+Shift+E: a rewrite request for the selection.
    area.press("Alt+Shift+E")
    expect(composer).to_have_value("Rewrite this passage so it reads more clearly.")
    assert errors == []


def test_the_section_changed_after_asking(served, doc, model, new_page):
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    original = doc["sections"][0]["content"]
    model.default = Reply(text=NEW)
    page = new_page()
    errors = _console_errors(page)
    open_document(page, served.url, doc)
    _select(page, PASSAGE)
    page.locator(".selection-bar").get_by_role("button", name="Rewrite this").click()
    page.locator("#composer-input").press("Enter")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")

    # Someone adds a sentence before it: the passage is found again (it is there once).
    served.api("PATCH", section_url, {"version": 1, "content": "In short: " + original})
    _replace_passage(reply)
    _save_review(page)
    expected = "In short: " + original.replace(PASSAGE, NEW)
    expect(card(page, 0).locator(".sec-content")).to_have_value(expected)
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["version"] == 3

    # Now the passage is there twice (and the text before it changed): the user is asked.
    page.get_by_role("button", name="Undo").click()
    expect(card(page, 0).locator(".sec-content")).to_have_value("In short: " + original)
    twice = f"Note: {PASSAGE} " + original
    served.api("PATCH", section_url, {"version": 4, "content": twice})
    _replace_passage(reply)
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("appears 2 times")
    dialog.get_by_role("button", name="Append instead").click()
    _save_review(page)
    expect(card(page, 0).locator(".sec-content")).to_have_value(f"{twice}\n\n{NEW}")
    expect(reply.locator(".apply-result")).to_contain_text("Appended to the section")

    # Gone altogether: asked again; cancelling writes nothing.
    version = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["version"]
    served.api("PATCH", section_url, {"version": version, "content": "Something else entirely."})
    _replace_passage(reply)
    expect(dialog).to_contain_text("changed or removed")
    dialog.get_by_role("button", name="Cancel").click()
    saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]
    assert (saved["content"], saved["version"]) == ("Something else entirely.", version + 1)
    # Chromium logs every non-2xx answer; the two 409 passage_moved answers are the expected ones.
    assert [e for e in errors if "status of 409" not in e] == []
    assert len(errors) == 2
