"""Never lose typing: drafts of section and chat text in the browser, saves retried when the server is
back, the warning before leaving, and a chat pane that recovers by itself after an outage."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_openai import Reply
from playwright.sync_api import Page, expect

from .conftest import VIEWPORT
from .helpers import assistant, card, open_document, send, wait_live

pytestmark = pytest.mark.browser

# What the browser itself logs when the server is away: a request or socket that found nobody.
NETWORK_NOISE = ("Failed to load resource", "WebSocket connection to", "net::ERR_")

LEAVE_WARNING = """() => {
  const ev = new Event('beforeunload', { cancelable: true });
  window.dispatchEvent(ev);
  return ev.defaultPrevented;
}"""

DRAFTS = """() => Object.keys(localStorage).filter(k => k.startsWith('vice.draft.'))
  .map(k => [k.split('/').slice(-2).join('/'), JSON.parse(localStorage.getItem(k))])"""


def watch_console(page: Page) -> list[str]:
    """Console errors of the page's own code (the browser's network notices during an outage aside)."""
    errors: list[str] = []
    if hasattr(page, "probe"):  # the shared fixture's strict console check takes the same outage notices
        for noise in NETWORK_NOISE:
            page.probe.allow(re.escape(noise))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not any(n in msg.text for n in NETWORK_NOISE) else None)
    return errors


@pytest.fixture
def leaving_page(browser) -> Iterator[Callable[[], Any]]:
    """Pages whose user answers "Leave" to the browser's leave warning (the shared fixture answers "Stay")."""
    contexts, pages = [], []

    def _open(context: Any = None) -> Any:
        if context is None:
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.warnings, page.errors = [], []
        page.on("dialog", lambda dialog: (page.warnings.append(dialog.type), dialog.accept()))
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.console_errors = watch_console(page)
        pages.append(page)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not [e for p in pages for e in p.errors + p.console_errors]


def crash(page: Page) -> None:
    """The tab goes at once: no leave warning (as in a crash), nothing more from this page."""
    page.close(run_before_unload=False)


def type_unfocused(box: Any, text: str) -> None:
    """Text typed into a box that then keeps no focus, so closing the page does not save it on blur."""
    box.evaluate("(el, text) => { el.value = text; el.dispatchEvent(new Event('input', { bubbles: true })); }", text)


def drafts(page: Page) -> dict[str, Any]:
    """The drafts this browser keeps, by "<kind>/<id>"."""
    return dict(page.evaluate(DRAFTS))


def section_of(served, doc, index: int) -> dict:
    return served.api("GET", f"/api/documents/{doc['id']}")["sections"][index]


def test_a_section_edit_reloaded_at_once_comes_back_and_is_saved(served, doc, leaving_page):
    page = leaving_page()
    page.goto(f"{served.url}/documents/{doc['id']}")
    methods = card(page, 1).locator(".sec-content")
    expect(methods).to_have_value(doc["sections"][1]["content"])
    methods.fill("Typed and reloaded at once.")
    page.wait_for_timeout(300)
    assert section_of(served, doc, 1)["version"] == 1  # not saved yet: the save waits for a pause

    page.reload()
    assert page.warnings == ["beforeunload"]  # the user was warned, and chose to leave
    expect(card(page, 1).locator(".sec-content")).to_have_value("Typed and reloaded at once.")
    expect(page.locator(".toast").filter(has_text="Restored your unsaved text of one section")).to_be_visible()
    expect(card(page, 1).locator(".sec-meta")).to_have_text("v2 · Saved")
    assert section_of(served, doc, 1)["content"] == "Typed and reloaded at once."
    assert drafts(page) == {}  # saved: nothing left to keep

    page.reload()  # nothing unsaved: no warning, no draft
    assert page.warnings == ["beforeunload"]
    expect(card(page, 1).locator(".sec-meta")).to_have_text("v2")
    expect(page.locator(".toast").filter(has_text="Restored")).to_have_count(0)


def test_the_leave_warning_is_there_only_while_section_text_is_unsaved(served, doc, new_page):
    page = new_page(f"{served.url}/documents/{doc['id']}")
    errors = watch_console(page)
    summary = card(page, 0).locator(".sec-content")
    expect(summary).to_have_value(doc["sections"][0]["content"])
    assert page.evaluate(LEAVE_WARNING) is False
    summary.fill("Half a thought")
    assert page.evaluate(LEAVE_WARNING) is True
    summary.press("Control+s")
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v2 · Saved")
    assert page.evaluate(LEAVE_WARNING) is False

    summary.fill("Typed, then undone")
    assert page.evaluate(LEAVE_WARNING) is True
    summary.fill("Half a thought")  # back to the saved text: nothing to lose
    assert page.evaluate(LEAVE_WARNING) is False
    assert drafts(page) == {}
    assert not errors


def test_an_edit_made_while_the_server_is_down_is_saved_when_it_is_back(served, doc, new_page):
    page = new_page(f"{served.url}/documents/{doc['id']}")
    errors = watch_console(page)
    methods = card(page, 1).locator(".sec-content")
    expect(methods).to_have_value(doc["sections"][1]["content"])

    served.stop()
    methods.fill("Written during the outage.")
    methods.blur()
    meta = card(page, 1).locator(".sec-meta")
    expect(meta).to_have_text("v1 · Not saved — will retry")
    expect(page.locator(".toast").filter(has_text="is not saved yet")).to_be_visible()
    assert page.evaluate(LEAVE_WARNING) is True
    (key, draft), = drafts(page).items()
    assert key.startswith("section/") and (draft["content"], draft["version"]) == ("Written during the outage.", 1)
    page.wait_for_timeout(1500)  # a retry or two find nobody either
    expect(meta).to_have_text("v1 · Not saved — will retry")

    served.start()  # the same port, the same data folder
    expect(meta).to_have_text("v2 · Saved", timeout=20_000)
    assert section_of(served, doc, 1)["content"] == "Written during the outage."
    assert drafts(page) == {}
    assert page.evaluate(LEAVE_WARNING) is False
    assert not errors


def test_a_draft_survives_a_crash_during_an_outage_and_a_server_restart(served, doc, leaving_page):
    first = leaving_page()
    first.goto(f"{served.url}/documents/{doc['id']}")
    summary = card(first, 0).locator(".sec-content")
    expect(summary).to_have_value(doc["sections"][0]["content"])
    served.stop()
    summary.fill("Kept through a crash.")
    card(first, 0).locator(".sec-title").fill("Summary, revised")
    expect(card(first, 0).locator(".sec-meta")).to_have_text("v1 · Not saved — will retry", timeout=5000)
    crash(first)  # no leave warning, nothing more from this page

    served.start()
    page = leaving_page(first.context)  # the same browser profile
    page.goto(f"{served.url}/documents/{doc['id']}")
    expect(card(page, 0).locator(".sec-content")).to_have_value("Kept through a crash.")
    expect(card(page, 0).locator(".sec-title")).to_have_value("Summary, revised")
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v2 · Saved")
    saved = section_of(served, doc, 0)
    assert (saved["title"], saved["content"], saved["version"]) == ("Summary, revised", "Kept through a crash.", 2)
    assert drafts(page) == {}


def test_a_draft_older_than_the_section_is_offered_as_a_conflict(served, doc, leaving_page):
    first = leaving_page()
    first.goto(f"{served.url}/documents/{doc['id']}")
    summary = card(first, 0).locator(".sec-content")
    expect(summary).to_have_value(doc["sections"][0]["content"])
    type_unfocused(summary, "My draft, never saved.")
    crash(first)  # before the save: the draft is all there is
    section = doc["sections"][0]
    served.api("PATCH", f"/api/documents/{doc['id']}/sections/{section['id']}", {"version": 1, "content": "Their text."})

    page = leaving_page(first.context)
    page.goto(f"{served.url}/documents/{doc['id']}")
    conflict = card(page, 0).locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("This section was changed elsewhere")
    expect(conflict).to_contain_text("you edited version 1")
    expect(card(page, 0).locator(".sec-content")).to_have_value("My draft, never saved.")
    page.wait_for_timeout(1500)  # nothing is saved over their text without the user's choice
    assert section_of(served, doc, 0)["content"] == "Their text."

    conflict.get_by_role("button", name="Keep my text").click()
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v3 · Saved")
    assert section_of(served, doc, 0)["content"] == "My draft, never saved."
    assert drafts(page) == {}


def test_unsent_chat_text_is_kept_per_chat_and_section(served, doc, model, leaving_page):
    model.default = Reply(text="Noted.")
    page = leaving_page()
    open_document(page, served.url, doc, 0)
    composer = page.locator("#composer-input")
    composer.fill("A question for a chat that does not exist yet")
    crash(page)

    page = leaving_page(page.context)
    open_document(page, served.url, doc, 0)
    composer = page.locator("#composer-input")
    expect(composer).to_have_value("A question for a chat that does not exist yet")
    composer.press("Enter")  # starts the section's first chat
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(composer).to_have_value("")
    assert drafts(page) == {}

    composer.fill("Second question, unsent")
    page.locator(".section-card").nth(1).locator(".sec-title").click()  # another section: its own (empty) draft
    expect(page.locator("#chat-section-name")).to_contain_text("Methods")
    expect(composer).to_have_value("")
    composer.fill("About the methods")
    card(page, 0).locator(".sec-title").click()
    wait_live(page)
    expect(composer).to_have_value("Second question, unsent")

    page.reload()  # chat text alone is no reason to warn: it is kept here
    assert page.warnings == []
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text(["A question for a chat that does not exist yet"])
    expect(composer).to_have_value("Second question, unsent")
    assert sorted(k.split("/")[0] for k in drafts(page)) == ["chat", "new-chat"]
    send(page, "Second question, sent")
    expect(page.locator("#messages .msg-assistant")).to_have_count(2)
    expect(page.locator("#messages .msg-assistant").last).to_have_attribute("data-status", "complete")
    assert [k.split("/")[0] for k in drafts(page)] == ["new-chat"]  # only the Methods draft is left


def test_the_chat_pane_recovers_after_an_outage_and_keeps_the_sections_chat(served, doc, model, new_page):
    model.default = Reply(text="Back again.")
    methods = doc["sections"][1]
    chat = served.api("POST", f"/api/documents/{doc['id']}/sections/{methods['id']}/sessions", {"title": "Methods chat"})
    page = new_page()
    errors = watch_console(page)
    open_document(page, served.url, doc, 0)

    served.stop()
    card(page, 1).locator(".sec-title").click()
    empty = page.locator("#messages .empty-state")
    expect(empty).to_contain_text("Could not load the chats")
    composer = page.locator("#composer-input")
    composer.fill("Sent during the outage")
    composer.press("Enter")  # no new chat beside the section's existing one
    expect(page.locator(".toast").filter(has_text="not loaded yet")).to_be_visible()
    expect(composer).to_have_value("Sent during the outage")

    served.start()
    expect(page.locator("#session-select option:checked")).to_have_text("Methods chat", timeout=20_000)
    wait_live(page)
    expect(empty).to_contain_text("No messages yet")
    expect(composer).to_have_value("Sent during the outage")  # the text goes with the section's chat
    composer.press("Enter")
    expect(assistant(page).locator(".msg-body")).to_have_text("Back again.")
    sessions = served.api("GET", f"/api/documents/{doc['id']}/sections/{methods['id']}/sessions")["sessions"]
    assert [s["id"] for s in sessions] == [chat["id"]]
    messages = served.api("GET", f"/api/sessions/{chat['id']}")["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["Sent during the outage"]
    assert drafts(page) == {}
    assert not errors, json.dumps(errors)


def put_draft(page: Page, doc: dict, kind: str, ident: str, value: dict, age_days: float = 0) -> None:
    """A draft as an earlier page of this browser left it."""
    page.evaluate("""([key, value, age]) => localStorage.setItem(key,
        JSON.stringify({ ...value, at: Date.now() - age * 86400000 }))""",
                  [f"vice.draft.local/{doc['id']}/{kind}/{ident}", value, age_days])


def test_drafts_are_bounded_and_an_interrupted_save_is_recognised(served, doc, new_page):
    summary, methods = doc["sections"]
    # The drafts an earlier page left, written from a page of the same origin that runs none of the app's
    # scripts (an open document page would hear the save below on its live socket and settle them first).
    page = new_page(f"{served.url}/static/css/app.css")
    # A draft older than 30 days is dropped; a fresh one whose save reached the server before the page
    # went (version 2 is exactly what was on its way) is ours, not a conflict.
    put_draft(page, doc, "section", summary["id"], {"title": "Summary", "content": "Too old.", "version": 1}, 31)
    put_draft(page, doc, "section", methods["id"], {
        "title": "Methods", "content": "Sent, and typed on.", "version": 1,
        "sending": {"version": 1, "title": "Methods", "content": "Sent"}})
    served.api("PATCH", f"/api/documents/{doc['id']}/sections/{methods['id']}", {"version": 1, "content": "Sent"})
    page.goto(f"{served.url}/documents/{doc['id']}")
    expect(card(page, 1).locator(".sec-content")).to_have_value("Sent, and typed on.")
    expect(card(page, 1).locator(".sec-meta")).to_have_text("v3 · Saved")
    expect(card(page, 1).locator(".conflict")).to_be_hidden()
    expect(card(page, 0).locator(".sec-content")).to_have_value(summary["content"])
    assert drafts(page) == {}

    # A full storage: old drafts make room; when nothing helps, typing goes on and the page still warns.
    page.evaluate("""() => {
      const set = Storage.prototype.setItem;
      window.__full = 0;
      Storage.prototype.setItem = function (key, value) {
        if (window.__full > 0) { window.__full -= 1; throw new DOMException('full', 'QuotaExceededError'); }
        return set.call(this, key, value);
      };
    }""")
    put_draft(page, doc, "new-chat", "elsewhere", {"text": "an old draft"}, 3)
    page.evaluate("window.__full = 1")
    card(page, 0).locator(".sec-content").fill("Typed into a full storage.")
    assert "section/" + summary["id"] in drafts(page)  # kept after making room
    assert "new-chat/elsewhere" not in drafts(page)  # the older half went
    page.evaluate("window.__full = 1e9")
    card(page, 0).locator(".sec-content").fill("Nothing can be kept.")
    assert page.evaluate(LEAVE_WARNING) is True
    card(page, 0).locator(".sec-content").blur()
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v2 · Saved")


def test_a_document_page_whose_first_load_finds_no_server_loads_when_it_answers(served, doc, new_page):
    page = new_page()
    errors = watch_console(page)
    failed: list[str] = []

    def no_server(route: Any) -> None:
        if len(failed) < 2:
            failed.append(route.request.url)
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(f"**/api/documents/{doc['id']}", no_server)
    page.goto(f"{served.url}/documents/{doc['id']}")
    expect(page.locator(".toast").filter(has_text="Could not load the document").first).to_be_visible()
    expect(card(page, 1).locator(".sec-content")).to_have_value(doc["sections"][1]["content"], timeout=15_000)
    assert len(failed) == 2
    expect(page.locator("#chat-section-name")).to_contain_text("Summary")
    assert not errors
