"""The live document: a second tab sees section and chat changes as they are saved, and sockets close cleanly."""
from __future__ import annotations

import re

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, card, expect_section_titles, open_document, send, wait_live

pytestmark = pytest.mark.browser


def wait_document_live(page) -> None:
    """Wait until the document's own socket is open."""
    expect(page.locator("#section-list")).to_have_attribute("data-live", "live")


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_switching_chats_many_times_logs_no_console_error(served, doc, new_page):
    section = doc["sections"][0]
    for title in ("First chat", "Second chat", "Third chat"):
        served.api("POST", f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", {"title": title})
    page = new_page()
    errors = console_errors(page)
    open_document(page, served.url, doc)
    wait_live(page)
    select = page.locator("#session-select")
    ids = select.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert len(ids) == 3
    for i in range(12):
        select.select_option(ids[i % 3])
        if i % 2:
            wait_live(page)  # half the switches wait for the socket to open, half leave it connecting
    wait_live(page)
    page.wait_for_timeout(500)
    assert errors == []


def sections_url(served, doc) -> str:
    return f"/api/documents/{doc['id']}/sections"


def test_a_second_tab_sees_section_changes_live(served, doc, new_page):
    summary, methods = doc["sections"]
    writer, reader = new_page(), new_page()
    open_document(writer, served.url, doc)
    open_document(reader, served.url, doc, 1)
    wait_document_live(reader)
    errors = console_errors(reader)

    # Content and title, typed in the other tab.
    writer_card = card(writer, 0)
    writer_card.locator(".sec-content").fill("Typed in the first tab.")
    writer_card.locator(".sec-title").fill("Abstract")
    writer_card.locator(".sec-title").press("Enter")  # moves focus to the text: the blur saves
    expect(card(reader, 0).locator(".sec-content")).to_have_value("Typed in the first tab.")
    expect(card(reader, 0).locator(".sec-title")).to_have_value("Abstract")
    expect(card(reader, 0).locator(".sec-meta")).to_contain_text("v2")

    # A new section, a move and a deletion, from elsewhere.
    added = served.api("POST", sections_url(served, doc), {"title": "Budget", "content": "40,000 euros.", "position": 1})
    expect_section_titles(reader, ["Abstract", "Budget", "Methods"])
    expect(card(reader, 1).locator(".sec-content")).to_have_value("40,000 euros.")
    served.api("POST", f"{sections_url(served, doc)}/{methods['id']}/move", {"position": 0})
    expect_section_titles(reader, ["Methods", "Abstract", "Budget"])
    served.api("DELETE", f"{sections_url(served, doc)}/{added['id']}")
    expect_section_titles(reader, ["Methods", "Abstract"])
    served.api("PATCH", f"{sections_url(served, doc)}/{summary['id']}", {"version": 2, "status": "approved"})
    expect(card(reader, 1).locator(".status-badge")).to_have_value("approved")
    # The reader's own chat pane never moved ...
    expect(reader.locator("#chat-section-name")).to_contain_text("Methods")
    # ... until its section goes: the next one is selected.
    served.api("DELETE", f"{sections_url(served, doc)}/{methods['id']}")
    expect_section_titles(reader, ["Abstract"])
    expect(reader.locator("#chat-section-name")).to_contain_text("Abstract")
    expect(card(reader, 0)).to_have_class(re.compile(r"\bis-selected\b"))
    assert errors == []


def test_a_section_being_edited_says_it_changed_elsewhere_and_offers_the_choices(served, doc, new_page):
    summary = doc["sections"][0]
    page = new_page()
    open_document(page, served.url, doc)
    wait_document_live(page)
    content = card(page, 0).locator(".sec-content")
    content.fill("My unsaved words.")  # saved only after a pause: still being edited
    served.api("PATCH", f"{sections_url(served, doc)}/{summary['id']}", {"version": 1, "content": "Their words."})

    conflict = card(page, 0).locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("changed elsewhere")
    expect(content).to_have_value("My unsaved words.")  # nothing typed is lost
    page.wait_for_timeout(1500)  # past the autosave: it waits for the choice
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "Their words."

    conflict.get_by_role("button", name="Keep my text").click()
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v3 · Saved")
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["content"] == "My unsaved words."

    content.fill("Mine again.")
    served.api("PATCH", f"{sections_url(served, doc)}/{summary['id']}", {"version": 3, "content": "Theirs again."})
    expect(conflict).to_be_visible()
    conflict.get_by_role("button", name="Use their version").click()
    expect(content).to_have_value("Theirs again.")
    expect(conflict).to_be_hidden()


def test_a_chat_made_in_one_tab_appears_in_the_other(served, doc, model, new_page):
    model.default = Reply(text="Hello from the model.")
    first, second = new_page(), new_page()
    open_document(first, served.url, doc)
    open_document(second, served.url, doc)
    expect(second.locator("#session-select option")).to_have_text(["No chats yet"])
    wait_document_live(second)

    send(first, "Shorten the summary")
    expect(second.locator("#session-select option:checked")).to_have_text("Shorten the summary")
    expect(assistant(second).locator(".msg-body")).to_have_text("Hello from the model.")
    first.locator("#new-session").click()
    expect(second.locator("#session-select option")).to_have_count(2)
    expect(first.locator("#session-select option")).to_have_count(2)  # its own, listed once


def test_a_reply_in_a_section_without_an_open_chat_reaches_the_outline(served, doc, model, new_page):
    model.default = Reply(text="Done over there.")
    watcher = new_page()
    open_document(watcher, served.url, doc, 1)  # Methods: no chat on it, so no chat socket open
    expect(watcher.locator("#session-select option")).to_have_text(["No chats yet"])
    wait_document_live(watcher)
    writer = new_page()
    open_document(writer, served.url, doc, 0)
    send(writer, "Check the summary")
    expect(assistant(writer)).to_have_attribute("data-status", "complete")

    expect(card(watcher, 0).locator(".new-reply")).to_be_visible()
    toast = watcher.locator(".toast").filter(has_text="A reply finished")
    expect(toast).to_have_count(1)
    toast.get_by_role("button", name="Open").click()
    expect(assistant(watcher).locator(".msg-body")).to_have_text("Done over there.")
