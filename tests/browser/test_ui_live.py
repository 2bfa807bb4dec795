"""Live pages: a second tab sees the stream, other sections get marked, reload and restart lose nothing."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from vice_ai import shutdown

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
    # The reply's view comes with round_start, a moment after the question: until then the last reply is
    # the first one, already complete.
    expect(second.locator("#messages .msg-assistant")).to_have_count(2)
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
    model.script(Reply(tokens=SLOW * 4, delay=0.1), Reply(text=" and the end."), Reply(text="After the restart."))
    send(page, "Long answer please")
    expect(assistant(page).locator(".msg-body")).to_contain_text("part2")
    served.restart()

    # The page notices, reconnects by itself and reloads what the server kept: the partial reply, told as cut
    # by the server (not "Stopped", as if the user had stopped it), with Continue.
    expect(page.locator(".toast").filter(has_text="Reconnected")).to_be_visible(timeout=15_000)
    wait_live(page)
    partial = assistant(page)
    expect(partial).to_have_attribute("data-status", "interrupted")
    expect(partial.locator(".msg-body")).to_contain_text("part2")
    expect(partial).to_contain_text("The server stopped while this reply was being written")
    expect(page.locator("#gen-state")).to_be_hidden()
    partial.get_by_role("button", name="Continue").click()
    expect(partial).to_have_attribute("data-status", "complete")
    expect(partial.locator(".msg-body")).to_contain_text("part2")
    expect(partial.locator(".msg-body")).to_contain_text("and the end.")
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
    assert [m["status"] for m in messages if m["role"] == "assistant"] == ["complete"] * 3  # the cut one continued


def test_a_page_from_before_a_restart_catches_up_when_the_new_run_is_further_along(served, doc, model, new_page):
    """The new run's seq can be past the page's when it reconnects: the page must not take the new run's
    tail for what it missed (its epoch says which run its seq counts)."""
    model.script(Reply(tokens=SLOW, delay=0.01))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "First question")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    session_id = session_of(served, page)["id"]

    # The server stops; before the page is back, the new run has more events on this chat than the page saw.
    served.stop()
    app = served.make_app(**served.config)
    model.script(Reply(text="Short."), Reply(tokens=SLOW * 2, delay=0.0))
    for question in ("Second question", "Third question"):
        resp = app.test_client().post(f"/api/sessions/{session_id}/messages", json={"content": question},
                                      headers={"X-VICE-CSRF": "1"})
        assert resp.status_code == 201, resp.get_json()
    served.make_app = lambda **config: app
    served.start()

    wait_live(page)
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text(
        ["First question", "Second question", "Third question"])
    expect(page.locator("#messages .msg-assistant .msg-body").nth(1)).to_have_text("Short.")
    expect(assistant(page).locator(".msg-body")).to_have_text(("".join(SLOW) * 2).strip())


def test_a_stopping_server_keeps_the_reply_to_continue_and_the_page_reconnects(served, doc, model, new_page):
    model.script(Reply(tokens=SLOW * 10, delay=0.1), Reply(text="After the restart."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Long answer please")
    expect(assistant(page).locator(".msg-body")).to_contain_text("part2")

    shutdown(served.app)  # what SIGTERM runs: the reply is saved, every socket told "restarting" and closed
    # Live, before any restart: the reply's end came before the socket closed, told as the server's doing
    # (not "Stopped", as if the user had stopped it), with Continue.
    expect(assistant(page)).to_have_attribute("data-status", "interrupted")
    expect(assistant(page)).to_contain_text("The server stopped while this reply was being written")
    expect(assistant(page).get_by_role("button", name="Continue")).to_be_visible()
    expect(page.locator("#conn-state")).not_to_have_attribute("data-state", "live")
    served.restart()

    wait_live(page)
    expect(assistant(page)).to_have_attribute("data-status", "interrupted")
    send(page, "Still there?")
    expect(assistant(page).locator(".msg-body")).to_have_text("After the restart.")
