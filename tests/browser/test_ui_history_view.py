"""A long chat's view while older pages load: it opens at its end, older pages go above without moving what the
user reads (the last one too), the top line says when a page is loading and when loading failed (Try again)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import long_chat, open_document, shown_ids, top_of

pytestmark = pytest.mark.browser

FROM_END = "list => list.scrollHeight - list.scrollTop - list.clientHeight"


def test_a_long_chat_opens_at_its_end_and_follows_a_new_reply(served, doc, new_page):
    long_chat(served, doc, 120)
    page = new_page()
    open_document(page, served.url, doc)
    expect(page.locator("#messages .msg")).to_have_count(50)
    expect(page.locator("#messages .older-marker")).to_have_count(1)
    page.wait_for_timeout(200)  # the list's scroll event
    assert page.locator("#messages").evaluate(FROM_END) < 2  # the last reply whole, not cut by the top line
    expect(page.locator("#jump-latest")).to_be_hidden()
    # A new reply (Regenerate, clicked where it is without scrolling) is followed to its end.
    page.locator("#messages .msg-assistant").last.locator(".regenerate-btn").dispatch_event("click")
    last = page.locator("#messages .msg-assistant").last
    expect(last.locator(".branch-count")).to_have_text("2 / 2")
    expect(last).to_have_attribute("data-status", "complete")
    page.wait_for_timeout(200)
    assert page.locator("#messages").evaluate(FROM_END) < 48
    expect(page.locator("#jump-latest")).to_be_hidden()


def test_older_pages_go_above_without_moving_the_view_the_last_one_too(served, doc, new_page):
    ids = [m.id for m in long_chat(served, doc, 120)]
    page = new_page()
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    for oldest, count in ((ids[70], 100), (ids[20], 120)):
        before = top_of(page, oldest, scroll_to=100)  # near the top: the page before loads
        expect(rows).to_have_count(count)
        assert abs(top_of(page, oldest) - before) <= 1, f"the view moved loading {count}"
    expect(page.locator("#messages .older-marker")).to_have_count(0)  # the top line went too, in place
    assert shown_ids(page) == ids


def test_the_top_line_says_loading_then_failed_and_try_again_loads(served, doc, new_page):
    ids = [m.id for m in long_chat(served, doc, 80)]
    page = new_page()
    held, asked = [], []

    def hold(route):
        asked.append(route.request.url)
        held.append(route)

    page.route(lambda url: "before=" in url, hold)
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    marker = page.locator("#messages .older-marker")
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(marker).to_have_text("Loading older messages…")
    page.wait_for_timeout(100)
    held.pop().abort("connectionrefused")  # the server went away meanwhile
    expect(marker).to_contain_text("Could not load older messages")
    assert page.locator("#messages").evaluate("list => list.scrollTop") == 0  # the line is seen whole
    expect(rows).to_have_count(50)
    for top in (50, 0, 10):  # scrolling about does not ask again and again
        page.locator("#messages").evaluate("(list, top) => { list.scrollTop = top; }", top)
        page.wait_for_timeout(100)
    assert len(asked) == 1
    page.unroute_all()
    marker.get_by_role("button", name="Try again").click()
    expect(rows).to_have_count(80)
    assert shown_ids(page) == ids
    expect(marker).to_have_count(0)


def test_after_a_server_restart_the_reader_stays_where_they_were(served, doc, new_page):
    ids = [m.id for m in long_chat(served, doc, 120)]
    page = new_page()
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    for count in (100, 120):
        page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
        expect(rows).to_have_count(count)
    reading = page.locator(f'#messages .msg[data-id="{ids[30]}"]')
    reading.evaluate("node => node.scrollIntoView()")
    place = top_of(page, ids[30])
    rows.first.evaluate("node => { node.dataset.before = '1'; }")  # gone once the chat is shown again
    served.restart()
    expect(page.locator("#messages .msg[data-before]")).to_have_count(0, timeout=15_000)
    expect(rows).to_have_count(120)
    assert shown_ids(page) == ids
    assert abs(top_of(page, ids[30]) - place) <= 1
    expect(page.locator("#jump-latest")).to_be_visible()
