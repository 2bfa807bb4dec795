"""A long chat in the browser: the newest 50 messages first, older ones as the user scrolls up, in place."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from vice_ai.domain.models import Message
from vice_ai.services import services

from .helpers import open_document, send

pytestmark = pytest.mark.browser


def _long_chat(served, doc: dict, count: int) -> list[Message]:
    session = served.api("POST", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions", {})
    state = services(served.app).state
    messages, parent = [], None
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        message = Message(role=role, content=f"Message {i}" + ("\n\nWith a second paragraph." if i % 3 else ""),
                          parent_id=parent)
        state.append_message(session["id"], message)
        messages.append(message)
        parent = message.id
    return messages


def _shown(page) -> list[str]:
    return page.locator("#messages .msg").evaluate_all("nodes => nodes.map(n => n.dataset.id)")


def test_a_long_chat_loads_older_pages_on_scrolling_up(served, doc, new_page):
    messages = _long_chat(served, doc, 120)
    ids = [m.id for m in messages]
    page = new_page()
    open_document(page, served.url, doc)
    rows = page.locator("#messages .msg")
    expect(rows).to_have_count(50)
    assert _shown(page) == ids[-50:]
    expect(page.locator("#messages .older-marker")).to_be_visible()

    # Scrolling to the top loads the 50 before; what was at the top stays where the user sees it.
    anchor = page.locator(f'#messages .msg[data-id="{ids[70]}"]')
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(rows).to_have_count(100)
    assert _shown(page) == ids[20:]
    top = page.locator("#messages").evaluate("list => list.getBoundingClientRect().top")
    assert anchor.bounding_box()["y"] >= top - 5  # not jumped away: still at (or just below) the top
    assert page.locator("#messages").evaluate("list => list.scrollTop") > 0

    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(rows).to_have_count(120)
    assert _shown(page) == ids  # all of them, once each, in order
    expect(page.locator("#messages .older-marker")).to_have_count(0)
    page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    page.wait_for_timeout(300)
    expect(rows).to_have_count(120)  # nothing more to load, nothing repeated

    # A live reply goes on at the end, below the older pages.
    send(page, "One more question")
    expect(rows).to_have_count(122)  # (the last reply before it is complete already: wait for the new one)
    expect(page.locator("#messages .msg-assistant").last).to_have_attribute("data-status", "complete")
    assert len(_shown(page)) == 122 and len(set(_shown(page))) == 122
    assert _shown(page)[:120] == ids


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
