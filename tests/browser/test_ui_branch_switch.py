"""Switching branches in a long chat and as a reader: the switched message stays where it was on screen (one from
an older page too, with older pages still loading above it); a reader's branch is kept in their browser through a
reload, a server restart and another tab, and a branch someone else starts does not take them away from it."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .conftest import VIEWPORT
from .helpers import chain, long_chat, open_document, shown_ids, top_of

pytestmark = pytest.mark.browser


def _msg(page, message_id: str):
    return page.locator(f'#messages .msg[data-id="{message_id}"]')


def test_a_switch_on_an_old_message_keeps_it_in_place(served, doc, new_page):
    ids = [m.id for m in long_chat(served, doc, 120)]
    section = doc["sections"][0]["id"]
    session_id = served.api("GET", f"/api/documents/{doc['id']}/sections/{section}/sessions")["sessions"][0]["id"]
    # Beside question 30, a branch longer than a page: its newest page does not reach the question.
    other = [m.id for m in chain(served, session_id, ids[29], [f"Other {i}" for i in range(60)])]
    served.api("PATCH", f"/api/sessions/{session_id}", {"active_leaf": ids[-1]})

    page = new_page()
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(rows).to_have_count(100)  # question 30 came with the older page
    _msg(page, ids[30]).evaluate("node => node.scrollIntoView()")
    page.locator("#messages").evaluate("list => { list.scrollTop -= 150; }")
    page.wait_for_timeout(200)  # the scroll event
    place = top_of(page, ids[30])
    expect(_msg(page, ids[30]).locator(".branch-count")).to_have_text("1 / 2")

    _msg(page, ids[30]).locator(".branch-next").click()
    switched = _msg(page, other[0])
    expect(switched.locator(".msg-text")).to_have_text("Other 0")
    expect(switched.locator(".branch-count")).to_have_text("2 / 2")
    assert abs(top_of(page, other[0]) - place) <= 1, "the switched message moved"
    assert shown_ids(page) == ids[20:30] + other  # the messages above it kept, the whole new branch below
    expect(page.locator("#jump-latest")).to_be_visible()
    assert served.api("GET", f"/api/sessions/{session_id}")["active_leaf"] == other[-1]  # the chat's, saved

    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")  # older pages still load
    expect(rows).to_have_count(90)
    assert shown_ids(page) == ids[:30] + other
    expect(page.locator("#messages .older-marker")).to_have_count(0)

    # Back again: the first branch, the question in the same place.
    page.locator("#messages").evaluate("(list, id) => list.querySelector(`.msg[data-id='${id}']`).scrollIntoView()",
                                       other[0])
    place = top_of(page, other[0])
    switched.locator(".branch-prev").click()
    expect(_msg(page, ids[30]).locator(".branch-count")).to_have_text("1 / 2")
    assert abs(top_of(page, ids[30]) - place) <= 1
    assert shown_ids(page) == ids


# -- a reader ------------------------------------------------------------------------------------------------------

def test_a_readers_branch_stays_through_reload_restart_other_tabs_and_new_branches(served_header, model, browser,
                                                                                     new_page):
    served = served_header
    doc = served.api("POST", "/api/documents", {"title": "Plan", "sections": [{"title": "Aims"}]}, user="alice")
    served.api("GET", "/api/me", user="bob")  # bob's account, made on first sight
    served.api("PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "read"}, user="alice")
    section = doc["sections"][0]["id"]
    chat = served.api("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {}, user="alice")
    first = chain(served, chat["id"], None, ["First question", "First answer", "Question A", "Answer A"])
    chain(served, chat["id"], first[1].id, ["Question B", "Answer B"])  # the active branch: written last
    active = served.api("GET", f"/api/sessions/{chat['id']}", user="alice")["active_leaf"]

    context = browser.new_context(viewport=VIEWPORT, extra_http_headers={"X-Forwarded-User": "bob"})
    try:
        bob = new_page(context=context)
        bob.goto(f"{served.url}/documents/{doc['id']}")
        bob.locator(".section-card").first.locator(".sec-title").click()
        question = bob.locator("#messages .msg-user").last
        expect(question.locator(".msg-text")).to_have_text("Question B")
        expect(bob.locator("#composer-note")).to_contain_text("Read only")
        question.locator(".branch-prev").click()
        expect(question.locator(".msg-text")).to_have_text("Question A")
        expect(question.locator(".branch-count")).to_have_text("1 / 2")
        assert served.api("GET", f"/api/sessions/{chat['id']}", user="alice")["active_leaf"] == active  # not the chat's

        bob.reload()
        expect(question.locator(".msg-text")).to_have_text("Question A")
        expect(bob.locator("#messages .msg-assistant").last.locator(".msg-body")).to_have_text("Answer A")

        other_tab = new_page(context=context)
        other_tab.goto(bob.url)
        expect(other_tab.locator("#messages .msg-user").last.locator(".msg-text")).to_have_text("Question A")
        other_tab.close()

        bob.locator("#messages .msg").first.evaluate("node => { node.dataset.before = '1'; }")
        served.restart()
        expect(bob.locator("#messages .msg[data-before]")).to_have_count(0, timeout=15_000)  # shown again
        expect(question.locator(".msg-text")).to_have_text("Question A")
        expect(bob.locator("#conn-state")).to_have_attribute("data-state", "live")

        # Alice asks the question a third way: bob sees one more version and stays on his.
        model.script(Reply(text="Answer C"))
        served.api("POST", f"/api/sessions/{chat['id']}/messages",
            {"content": "Question C", "parent_id": first[1].id}, user="alice")
        expect(question.locator(".branch-count")).to_have_text("1 / 3")
        bob.wait_for_timeout(300)
        expect(question.locator(".msg-text")).to_have_text("Question A")
        expect(bob.locator("#messages .msg-assistant").last.locator(".msg-body")).to_have_text("Answer A")
    finally:
        context.close()
