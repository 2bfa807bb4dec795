"""Function calling in the browser: tool steps, proposed edits (accept, conflict, reject, undo), background checks."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI, Reply, ToolCall
from playwright.sync_api import expect

from vice_ai.services import services

from .conftest import FAKE_KEY, Served
from .helpers import assistant, card, open_document, send, session_of, wait_live

pytestmark = pytest.mark.browser

TIGHTER = "We request 40,000 euros\nfor two years."


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stream-") and t.is_alive()]


@pytest.fixture
def served(make_app, model: FakeOpenAI) -> Iterator[Served]:
    """The app with notification streams allowed to tick fast (this module's tests stop them)."""
    server = Served(make_app, {"OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": FAKE_KEY, "MODEL": "fake-model",
                               "STREAM_MIN_INTERVAL": 0.01})
    server.start()
    yield server
    services(server.app).streams.shutdown()  # even when a test failed half-way
    server.stop()


@pytest.fixture(autouse=True)
def no_stream_left_running(served: Served) -> Iterator[None]:
    """Every stream a test starts must be stopped by the test itself (through the UI)."""
    yield
    deadline = time.monotonic() + 5
    while stream_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream_threads() == [], "a notification stream thread is still running"


def call(name: str, arguments: dict, call_id: str) -> ToolCall:
    return ToolCall(name, json.dumps(arguments), id=call_id)


def propose(text: str, summary: str, call_id: str = "call_propose") -> Reply:
    return Reply(text="", tool_calls=[call("propose_section_edit", {"new_content": text, "summary": summary}, call_id)])


def final_reply(page, text: str, replies: int):
    """Wait for the final answer of a turn that used tools: `replies` bubbles, the last complete with `text`."""
    expect(page.locator("#messages .msg-assistant")).to_have_count(replies)
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_have_text(text)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(page.locator("#gen-state")).to_be_hidden()
    return reply


def test_a_proposed_edit_is_accepted_and_the_section_shows_the_new_version(served, doc, model, new_page):
    original = doc["sections"][0]["content"]
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.script(propose(TIGHTER, "Shorter summary"), Reply(text="I proposed a shorter summary."))
    page = new_page()
    open_document(page, served.url, doc)
    content = card(page, 0).locator(".sec-content")
    meta = card(page, 0).locator(".sec-meta")
    send(page, "Make it shorter")
    final_reply(page, "I proposed a shorter summary.", 2)

    step = page.locator("#messages .tool-step")
    expect(step).to_have_count(1)
    expect(step.locator(".tool-label")).to_have_text("Proposed an edit: Shorter summary")
    expect(step).to_have_attribute("data-status", "ok")
    proposal = page.locator("#proposals .proposal-card")
    expect(proposal).to_have_count(1)
    expect(proposal.locator(".proposal-summary")).to_have_text("Shorter summary")
    expect(proposal.locator(".proposal-new")).to_have_text(TIGHTER)  # line breaks kept, as text
    proposal.get_by_text("Compare with the current text").click()
    expect(proposal.locator(".proposal-before")).to_have_text(original)
    # Nothing is written until the user accepts.
    expect(content).to_have_value(original)
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][0]["version"] == 1

    proposal.get_by_role("button", name="Accept").click()
    review = page.locator("dialog.review-dialog")
    expect(review.locator("#review-title")).to_have_text("Review the proposed edit")
    review.get_by_role("button", name="Save", exact=True).click()
    expect(review).to_have_count(0)
    expect(content).to_have_value(TIGHTER)
    expect(meta).to_have_text("v2")
    expect(proposal.locator(".proposal-status")).to_contain_text("Accepted: the section now has this text (version 2)")
    expect(proposal.get_by_role("button", name="Accept")).to_be_hidden()
    # The reply that made the proposal is not "stale" because its own proposal was accepted.
    expect(assistant(page).locator(".msg-stale")).to_be_hidden()
    session = session_of(served, page)
    [suggestion] = served.api("GET", f"/api/sessions/{session['id']}/suggestions")["suggestions"]
    assert suggestion["status"] == "accepted"
    versions = served.api("GET", section_url + "/versions")["versions"]
    assert (versions[-1]["version"], versions[-1]["content"]) == (2, TIGHTER)
    assert versions[-1]["source"]["suggestion_id"] == suggestion["id"]

    proposal.get_by_role("button", name="Undo").click()
    expect(content).to_have_value(original)
    expect(meta).to_have_text("v3")
    expect(proposal.locator(".proposal-status")).to_contain_text("Undone")
    # The text is the one the reply was written for again (version 3 = version 1): not stale.
    expect(assistant(page).locator(".msg-stale")).to_be_hidden()
    assert served.api("GET", section_url + "/versions")["current_version"] == 3

    # After a reload the decided proposal is gone; the step is still in the history.
    page.reload()
    wait_live(page)
    expect(page.locator("#messages .tool-step .tool-label")).to_have_text("Proposed an edit: Shorter summary")
    expect(page.locator("#proposals")).to_be_hidden()


def test_accepting_over_a_changed_section_reviews_it_and_rejecting_changes_nothing(served, doc, model, new_page):
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    model.script(propose(TIGHTER, "Shorter"), Reply(text="Proposed."))
    page = new_page()
    open_document(page, served.url, doc)
    content = card(page, 0).locator(".sec-content")
    send(page, "Make it shorter")
    final_reply(page, "Proposed.", 2)
    proposal = page.locator("#proposals .proposal-card")
    expect(proposal).to_have_count(1)

    # A colleague edits the section after the proposal was made: the review shows the change against their text.
    served.api("PATCH", section_url, {"version": 1, "content": "Edited by a colleague."})
    proposal.get_by_role("button", name="Accept").click()
    review = page.locator("dialog.review-dialog")
    expect(review.locator(".diff-view")).to_contain_text("Edited by a colleague")
    expect(review.locator(".review-result")).to_have_value(TIGHTER)
    status = proposal.locator(".proposal-status")
    assert served.api("GET", section_url + "/versions")["versions"][-1]["content"] == "Edited by a colleague."
    review.get_by_role("button", name="Save", exact=True).click()
    expect(content).to_have_value(TIGHTER)
    expect(card(page, 0).locator(".sec-meta")).to_have_text("v3")
    expect(status).to_contain_text("(version 3)")

    model.script(propose("Something else entirely.", "Another idea", "call_other"), Reply(text="Here is another."))
    send(page, "Another idea?")
    final_reply(page, "Here is another.", 4)
    other = page.locator("#proposals .proposal-card", has_text="Another idea")
    expect(other).to_be_visible()
    other.get_by_role("button", name="Reject").click()
    expect(other).to_have_count(0)
    expect(page.locator(".toast", has_text="Proposed edit rejected")).to_be_visible()
    session = session_of(served, page)
    statuses = {s["summary"]: s["status"] for s in served.api("GET", f"/api/sessions/{session['id']}/suggestions")["suggestions"]}
    assert statuses == {"Shorter": "accepted", "Another idea": "rejected"}
    expect(content).to_have_value(TIGHTER)
    assert served.api("GET", section_url + "/versions")["current_version"] == 3


def test_tool_steps_are_compact_lines_that_expand_to_their_results(served, doc, model, new_page):
    summary = doc["sections"][0]
    model.script(
        Reply(text="", tool_calls=[call("read_section", {}, "call_read")]),
        Reply(text="Let me look further.", tool_calls=[call("search_document", {"query": "budget"}, "call_search"),
                                                      call("read_section", {"section_id": "nope"}, "call_bad")]),
        Reply(text="The section asks for 40,000 euros."),
    )
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "What does it ask for?")
    reply = final_reply(page, "The section asks for 40,000 euros.", 3)

    def check_steps() -> None:
        steps = page.locator("#messages .tool-step")
        expect(steps).to_have_count(3)
        expect(steps.nth(0).locator(".tool-label")).to_have_text("Read section “Summary”")
        expect(steps.nth(1).locator(".tool-label")).to_have_text("Searched the document for “budget” — 1 match")
        expect(steps.nth(2).locator(".tool-label")).to_have_text("Read another section")
        for n, status in enumerate(["ok", "ok", "error"]):
            expect(steps.nth(n)).to_have_attribute("data-status", status)
        expect(steps.nth(2).locator(".tool-note")).to_contain_text("No section 'nope' in this document")
        # Collapsed: one line each; opening one shows its arguments and result.
        result = steps.nth(0).locator(".tool-result")
        expect(result).to_be_hidden()
        steps.nth(0).locator("summary").click()
        expect(result).to_be_visible()
        expect(result).to_contain_text("title: Summary")
        expect(result).to_contain_text("version: 1")
        expect(result).to_contain_text(summary["content"])
        steps.nth(1).locator("summary").click()
        expect(steps.nth(1).locator(".tool-args")).to_have_text("query: budget")
        expect(steps.nth(1).locator(".tool-result")).to_contain_text("snippet:")
        # The steps are not replies: no Apply, no receipt; the text beside a call is still shown.
        tool_bubbles = page.locator("#messages .msg-tools")
        expect(tool_bubbles).to_have_count(2)
        expect(tool_bubbles.locator(".apply-menu")).to_have_count(0)
        expect(tool_bubbles.nth(1).locator(".msg-body")).to_have_text("Let me look further.")
        expect(page.locator("#messages .msg-tools-only")).to_have_count(1)

    check_steps()
    expect(reply.locator(".apply-menu")).to_be_visible()
    sent = model.chat_requests[1].json["messages"]
    assert sent[-1]["role"] == "tool" and "40,000 euros" in sent[-1]["content"]

    page.reload()  # the same steps, from the stored history
    wait_live(page)
    final_reply(page, "The section asks for 40,000 euros.", 3)
    check_steps()

    # The reply is now stale; Ask again finds the question above the tool steps.
    model.default = Reply(text="Still 40,000 euros.")
    box = card(page, 0).locator(".sec-content")
    box.fill(summary["content"] + " Plus travel.")
    box.blur()
    expect(card(page, 0).locator(".sec-meta")).to_contain_text("v2")
    stale = assistant(page).locator(".msg-stale")
    expect(stale).to_contain_text("Based on version 1")
    expect(page.locator("#messages .msg-tools .msg-stale")).to_have_count(2)
    expect(page.locator("#messages .msg-tools .msg-stale:visible")).to_have_count(0)
    stale.get_by_role("button", name="Ask again").click()
    expect(page.locator("#messages .msg-user .msg-text").last).to_have_text("What does it ask for?")
    final_reply(page, "Still 40,000 euros.", 4)


def test_a_background_check_started_by_the_model_is_listed_notifies_and_stops(served, doc, model, new_page):
    goal = "Tell me when the budget changes"
    model.default = Reply(text="Nothing new.")
    # Only the chat's first request is scripted: the stream does not exist before it, so
    # every later request (the chat's and the stream's) gets the same default answer.
    model.script(Reply(text="", tool_calls=[call("start_notification_stream",
                                                 {"goal": goal, "interval_seconds": 0.05}, "call_stream")]))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Watch the budget for me")
    final_reply(page, "Nothing new.", 2)
    expect(page.locator("#messages .tool-step .tool-label")).to_have_text(f"Started a background check: {goal}")

    strip = page.locator("#streams")
    expect(strip).to_be_visible()
    expect(strip.locator("summary")).to_have_text("Background checks · 1 running")
    item = strip.locator(".stream-item")
    expect(item).to_have_count(1)
    expect(item.locator(".stream-goal")).to_have_text(goal)
    expect(item.locator(".stream-meta")).to_have_text("every 0.05 s · 0 notifications")
    expect(item).to_have_attribute("data-status", "running")

    # The chat is idle now, so the next model request is the stream's.
    model.script(Reply(text="", tool_calls=[call("send_notification", {"message": "The budget is now 45,000 euros."}, "n1")]))
    expect(page.locator(".toast", has_text="The budget is now 45,000 euros.")).to_be_visible()
    expect(item.locator(".stream-meta")).to_have_text("every 0.05 s · 1 notification")
    expect(item.locator(".stream-last")).to_contain_text("The budget is now 45,000 euros.")

    item.get_by_role("button", name=re.compile("^Stop")).click()
    expect(item).to_have_attribute("data-status", "stopped")
    expect(item.locator(".stream-state")).to_have_text("Stopped — stopped by the user")
    expect(item.get_by_role("button", name=re.compile("^Stop"))).to_have_count(0)
    expect(strip.locator("summary")).to_have_text("Background checks · none running")
    expect(page.locator(".toast", has_text="Notification stream stopped: stopped by the user.")).to_be_visible()
    session = session_of(served, page)
    [stream] = served.api("GET", f"/api/sessions/{session['id']}/streams")["streams"]
    assert (stream["running"], stream["status"], stream["stopped_reason"]) == (False, "stopped", "stopped by the user")
    assert stream["notifications"] == 1
    assert stream_threads() == []

    page.reload()  # the stopped check is still listed, with why
    wait_live(page)
    expect(page.locator("#streams .stream-item .stream-state")).to_have_text("Stopped — stopped by the user")
