"""A search result on a branch the chat does not show (a question edited since, the reply to it) opens on its own
branch, marked, without changing the chat's active branch; "Back" returns, writing there continues that branch."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from vice_ai.domain.models import Message
from vice_ai.services import services

from .helpers import assistant, open_document, send, session_of

pytestmark = pytest.mark.browser


def _search(page, text: str, kind: str):
    box = page.locator("#search-input")
    box.click()
    box.fill(text)
    result = page.locator("#search-results .search-result").filter(has=page.locator(".search-kind", has_text=kind))
    expect(result).to_have_count(1)
    result.click()


def _user(page, index: int = -1):
    found = page.locator("#messages .msg-user")
    return found.last if index == -1 else found.nth(index)


def test_results_on_an_old_branch_show_there_and_leave_the_chat_as_it_is(served, doc, model, new_page):
    model.script(Reply(text="Forty thousand euros."), Reply(text="Two years by airship."),
                 Reply(text="Twenty-four months."), Reply(text="Leave from Friedrichshafen."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "What is the budget?")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    send(page, "How long is the zeppelin trip?")
    expect(assistant(page).locator(".msg-body")).to_have_text("Two years by airship.")
    _user(page).locator(".edit-btn").click()
    page.locator(".msg-edit .edit-input").fill("How many months does it run?")
    page.locator(".msg-edit").get_by_role("button", name="Send").click()
    expect(assistant(page).locator(".msg-body")).to_have_text("Twenty-four months.")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(_user(page).locator(".branch-count")).to_have_text("2 / 2")
    active = session_of(served, page)["active_leaf"]
    note = page.locator(".view-note")
    expect(note).to_be_hidden()

    # The old question: shown on its branch, scrolled to and marked; the chat's active branch is unchanged.
    _search(page, "zeppelin", "You")
    hit = _user(page)
    expect(hit.locator(".msg-text")).to_have_text("How long is the zeppelin trip?")
    expect(hit).to_have_attribute("data-search-hit", "1")
    expect(hit).to_be_in_viewport()
    expect(hit.locator(".branch-count")).to_have_text("1 / 2")
    expect(note).to_be_visible()
    expect(note).to_contain_text("current version is unchanged")
    assert session_of(served, page)["active_leaf"] == active

    # Back: the chat's own branch again.
    note.get_by_role("button", name="Back to the current version").click()
    expect(_user(page).locator(".msg-text")).to_have_text("How many months does it run?")
    expect(note).to_be_hidden()

    # The reply on the old branch, found by its text.
    _search(page, "airship", "Assistant")
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_have_text("Two years by airship.")
    expect(reply).to_have_attribute("data-search-hit", "1")
    expect(reply).to_be_in_viewport()
    expect(note).to_be_visible()
    assert session_of(served, page)["active_leaf"] == active

    # Writing while it is viewed continues that branch, which becomes the chat's.
    send(page, "Where does it leave from?")
    expect(assistant(page).locator(".msg-body")).to_have_text("Leave from Friedrichshafen.")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    expect(note).to_be_hidden()
    texts = page.locator("#messages .msg-user .msg-text").all_inner_texts()
    assert texts == ["What is the budget?", "How long is the zeppelin trip?", "Where does it leave from?"]
    session = session_of(served, page)
    assert session["active_leaf"] != active
    assert [m["content"] for m in session["messages"] if m["id"] == session["active_leaf"]] == [
        "Leave from Friedrichshafen."]


def test_a_result_on_an_old_branch_opens_from_another_page(served, doc, model, new_page):
    model.default = Reply(text="Noted.")
    section = doc["sections"][1]
    chat = served.api("POST", f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", {"title": "Trips"})
    first = served.api("POST", f"/api/sessions/{chat['id']}/messages", {"content": "Shall we go by dirigible?"})
    served.api("POST", f"/api/sessions/{chat['id']}/messages",
               {"content": "Shall we go by train?", "parent_id": first["user_message"]["parent_id"]})
    active = served.api("GET", f"/api/sessions/{chat['id']}")["active_leaf"]

    page = new_page(f"{served.url}/")
    page.locator("#search-input").click()
    page.locator("#search-input").fill("dirigible")
    page.locator("#search-results .search-result").filter(has_text="You").click()
    page.wait_for_url(f"**/documents/{doc['id']}*")
    expect(page.locator("#session-select")).to_have_value(chat["id"])
    hit = page.locator(f'#messages .msg[data-id="{first["user_message"]["id"]}"]')
    expect(hit).to_have_attribute("data-search-hit", "1")
    expect(hit).to_be_in_viewport()
    expect(page.locator(".view-note")).to_be_visible()
    assert served.api("GET", f"/api/sessions/{chat['id']}")["active_leaf"] == active


def test_editing_or_regenerating_on_a_viewed_branch_shows_the_new_branch(served, doc, model, new_page):
    model.script(Reply(text="Two years by airship."), Reply(text="Twenty-four months."),
                 Reply(text="Eight seasons."), Reply(text="Two years, weather permitting."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "How long is the zeppelin trip?")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    _user(page).locator(".edit-btn").click()
    page.locator(".msg-edit .edit-input").fill("How many months does it run?")
    page.locator(".msg-edit").get_by_role("button", name="Send").click()
    expect(assistant(page).locator(".msg-body")).to_have_text("Twenty-four months.")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    note = page.locator(".view-note")

    # Edit the question found on the old branch: its new branch is shown, and is the chat's.
    _search(page, "zeppelin", "You")
    expect(_user(page).locator(".msg-text")).to_have_text("How long is the zeppelin trip?")
    expect(note).to_be_visible()
    _user(page).locator(".edit-btn").click()
    page.locator(".msg-edit .edit-input").fill("How many seasons?")
    page.locator(".msg-edit").get_by_role("button", name="Send").click()
    expect(assistant(page).locator(".msg-body")).to_have_text("Eight seasons.")
    expect(_user(page).locator(".branch-count")).to_have_text("3 / 3")
    expect(note).to_be_hidden()

    # Regenerate the reply found on the old branch: the new reply is shown, and is the chat's.
    _search(page, "airship", "Assistant")
    expect(assistant(page).locator(".msg-body")).to_have_text("Two years by airship.")
    expect(note).to_be_visible()
    assistant(page).locator(".regenerate-btn").click()
    expect(assistant(page).locator(".msg-body")).to_have_text("Two years, weather permitting.")
    expect(assistant(page).locator(".branch-count")).to_have_text("2 / 2")
    expect(note).to_be_hidden()
    session = session_of(served, page)
    assert [m["content"] for m in session["messages"] if m["id"] == session["active_leaf"]] == [
        "Two years, weather permitting."]


def test_a_result_far_back_on_a_long_branch_is_loaded_and_shown(served, doc, new_page):
    section = doc["sections"][0]
    chat = served.api("POST", f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", {"title": "Long"})
    state = services(served.app).state
    parent, early = None, None
    for i in range(130):  # more than two pages of 50
        text = "Shall we hire a narwhal?" if i == 4 else f"Point number {i}."
        message = Message(role="user" if i % 2 == 0 else "assistant", content=text, parent_id=parent)
        state.append_message(chat["id"], message)
        early = message.id if i == 4 else early
        parent = message.id
    assert served.api("GET", "/api/search?q=narwhal")["results"], "the search finds the message"

    page = new_page()
    open_document(page, served.url, doc)
    expect(page.locator("#session-select")).to_have_value(chat["id"])
    expect(page.locator("#messages .msg").last).to_contain_text("Point number 129.")
    _search(page, "narwhal", "You")
    hit = page.locator(f'#messages .msg[data-id="{early}"]')
    expect(hit).to_have_attribute("data-search-hit", "1")
    expect(hit).to_be_in_viewport()
    expect(page.locator(".view-note")).to_be_hidden()  # the chat's own branch: nothing to say
