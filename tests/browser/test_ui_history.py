"""A long chat in the browser: the newest 50 messages first, older ones as the user scrolls up, in place."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import long_chat, open_document, send, shown_ids

pytestmark = pytest.mark.browser


def test_a_long_chat_loads_older_pages_on_scrolling_up(served, doc, new_page):
    messages = long_chat(served, doc, 120)
    ids = [m.id for m in messages]
    page = new_page()
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    assert shown_ids(page) == ids[-50:]
    expect(page.locator("#messages .older-marker")).to_be_visible()

    # Scrolling to the top loads the 50 before; what was at the top stays where the user sees it.
    anchor = page.locator(f'#messages .msg[data-id="{ids[70]}"]')
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(rows).to_have_count(100)
    assert shown_ids(page) == ids[20:]
    top = page.locator("#messages").evaluate("list => list.getBoundingClientRect().top")
    assert anchor.bounding_box()["y"] >= top - 5  # not jumped away: still at (or just below) the top
    assert page.locator("#messages").evaluate("list => list.scrollTop") > 0

    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(rows).to_have_count(120)
    assert shown_ids(page) == ids  # all of them, once each, in order
    expect(page.locator("#messages .older-marker")).to_have_count(0)
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    page.wait_for_timeout(300)
    expect(rows).to_have_count(120)  # nothing more to load, nothing repeated

    # A live reply goes on at the end, below the older pages.
    send(page, "One more question")
    expect(rows).to_have_count(122)  # (the last reply before it is complete already: wait for the new one)
    expect(page.locator("#messages .msg-assistant").last).to_have_attribute("data-status", "complete")
    assert len(shown_ids(page)) == 122 and len(set(shown_ids(page))) == 122
    assert shown_ids(page)[:120] == ids


def test_the_document_list_shows_more_on_request(served, new_page):
    made = [served.api("POST", "/api/documents", {"title": f"Doc {i:02d}"})["id"] for i in range(53)]
    page = new_page()
    page.goto(served.url + "/")
    rows = page.locator(".doc-row[data-id]")
    expect(rows).to_have_count(50)
    more = page.get_by_role("button", name="Show more documents")
    gap = more.bounding_box()["y"] - page.locator(".doc-rows").bounding_box()["y"] - page.locator(".doc-rows").bounding_box()["height"]
    assert gap >= 8, f"the button touches the list ({gap} px)"
    more.click()
    expect(rows).to_have_count(53)
    shown = rows.evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    assert sorted(shown) == sorted(made) and shown[-1] == made[0]  # last changed first, each once
    expect(page.get_by_role("button", name="Show more documents")).to_have_count(0)
