"""Live pages: a second tab sees the stream, other sections get marked, reload and restart lose nothing."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import RECORD_STREAM, assistant, card, open_document, send, session_of, streamed, wait_live

pytestmark = pytest.mark.browser

SLOW = [f"part{i} " for i in range(14)]


def test_a_second_page_on_the_same_chat_sees_the_stream(served, doc, model, new_page):
    model.script(Reply(text="Hello."), Reply(tokens=SLOW, delay=0.12))
    first = new_page()
    open_document(first, served.url, doc)
    send(first, "Hi")
    expect(assistant(first)).to_have_attribute("data-status", "complete")

    second = new_page(first.url)  # the same section and chat, from the URL
    expect(second.locator("#messages .msg-user")).to_have_count(1)
    wait_live(second)
    second.evaluate(RECORD_STREAM)
    send(first, "Go on")

    expect(second.locator("#messages .msg-user .msg-text").last).to_have_text("Go on")
    reply = assistant(second)
    expect(second.locator("#gen-state")).to_be_visible()
    expect(reply).to_have_attribute("data-status", "complete")
    assert len(streamed(second)) >= 3, streamed(second)
    expect(reply.locator(".msg-body")).to_have_text("".join(SLOW).strip())
    expect(assistant(first).locator(".msg-body")).to_have_text("".join(SLOW).strip())
    expect(second.locator("#gen-state")).to_be_hidden()


def test_a_reply_in_another_section_marks_it_in_the_outline(served, doc, model, new_page):
    methods = doc["sections"][1]
    served.api("POST", f"/api/documents/{doc['id']}/sections/{methods['id']}/sessions", {"title": "Methods chat"})
    watcher = new_page(f"{served.url}/documents/{doc['id']}#section={methods['id']}")
    expect(watcher.locator("#session-select option:checked")).to_have_text("Methods chat")
    wait_live(watcher)
    expect(card(watcher, 0).locator(".new-reply")).to_be_hidden()

    model.default = Reply(text="Done over there.")
    writer = new_page()
    open_document(writer, served.url, doc, 0)
    send(writer, "Check the summary")
    expect(assistant(writer)).to_have_attribute("data-status", "complete")

    expect(card(watcher, 0).locator(".new-reply")).to_be_visible()
    expect(card(watcher, 1).locator(".new-reply")).to_be_hidden()
    toast = watcher.locator(".toast").filter(has_text="A reply finished")
    expect(toast).to_be_visible()
    toast.get_by_role("button", name="Open").click()
    expect(watcher.locator("#chat-section-name")).to_contain_text("Summary")
    expect(assistant(watcher).locator(".msg-body")).to_have_text("Done over there.")
    expect(card(watcher, 0).locator(".new-reply")).to_be_hidden()


def test_reload_and_server_restart_keep_everything(served, doc, model, new_page):
    model.script(Reply(text="First answer."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "First question")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    methods = card(page, 1).locator(".sec-content")
    methods.fill("We interview forty teams. Edited in the browser.")
    expect(card(page, 1).locator(".sec-meta")).to_have_text("v2 · Saved")
    card(page, 0).locator(".sec-title").click()
    wait_live(page)

    page.reload()  # the URL keeps the section and chat
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text(["First question"])
    expect(assistant(page).locator(".msg-body")).to_have_text("First answer.")
    expect(card(page, 1).locator(".sec-content")).to_have_value("We interview forty teams. Edited in the browser.")
    wait_live(page)

    # A reply is streaming when the server goes away; a new server starts on the same port.
    model.script(Reply(tokens=SLOW * 4, delay=0.1), Reply(text="After the restart."))
    send(page, "Long answer please")
    expect(assistant(page).locator(".msg-body")).to_contain_text("part2")
    served.restart()

    # The page notices, reconnects by itself and reloads what the server kept.
    expect(page.locator(".toast").filter(has_text="Reconnected")).to_be_visible(timeout=15_000)
    wait_live(page)
    partial = assistant(page)
    expect(partial).not_to_have_attribute("data-status", "streaming")
    expect(partial.locator(".msg-body")).to_contain_text("part2")
    expect(page.locator("#gen-state")).to_be_hidden()
    send(page, "Still there?")
    expect(assistant(page).locator(".msg-body")).to_have_text("After the restart.")

    # A fresh page on the restarted server sees everything.
    fresh = new_page(served.url + "/")
    expect(fresh.locator(".doc-row .doc-link")).to_have_text("Grant proposal")
    fresh.locator(".doc-link").click()
    expect(card(fresh, 1).locator(".sec-content")).to_have_value("We interview forty teams. Edited in the browser.")
    card(fresh, 0).locator(".sec-title").click()
    expect(fresh.locator("#messages .msg-user .msg-text")).to_have_text(
        ["First question", "Long answer please", "Still there?"])
    expect(fresh.locator("#messages .msg-assistant")).to_have_count(3)
    messages = session_of(served, fresh)["messages"]
    assert [m["status"] for m in messages if m["role"] == "assistant"][1] in ("stopped", "interrupted")
