"""Scrolling up while a reply streams: the next words do not pull the list back down, even when they come
before the browser has sent the scroll event (it does so with the next frame)."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, open_document, send

pytestmark = pytest.mark.browser

# Scroll events of the list held back, as between a user's scroll and the next frame (a capturing listener on
# window runs before the list's own and stops them).
HOLD_SCROLL_EVENTS = """() => { window.__hold = (e) => { if (e.target.id === 'messages') e.stopImmediatePropagation(); };
  window.addEventListener('scroll', window.__hold, true); }"""


def test_a_scroll_up_not_yet_reported_is_not_undone_by_the_next_words(served, doc, model, new_page):
    model.script(Reply(tokens=[f"Line {i} of a long reply.\n\n" for i in range(120)], delay=0.05))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Write many lines")
    messages = page.locator("#messages")
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_contain_text("Line 20 ")
    assert messages.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight < 48")
    page.evaluate(HOLD_SCROLL_EVENTS)
    messages.evaluate("el => { el.scrollTop = 0; }")
    expect(reply.locator(".msg-body")).to_contain_text("Line 40 ")  # more words came meanwhile
    assert messages.evaluate("el => el.scrollTop") == 0, "the list was pulled back down"
    expect(page.locator("#jump-latest")).to_be_visible()
    page.evaluate("() => window.removeEventListener('scroll', window.__hold, true)")
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    assert messages.evaluate("el => el.scrollTop") == 0
