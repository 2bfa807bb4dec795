"""A model server that fails for a while: one notice that keeps itself up to date, gone once the reply ends."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, open_document, send

pytestmark = pytest.mark.browser

# The most "trying again" notices the page showed at once, over the whole test.
COUNT_RETRY_NOTICES = """() => {
  window.__mostRetryNotices = 0;
  const count = () => [...document.querySelectorAll('#toasts .toast')]
    .filter((t) => t.textContent.includes('trying again')).length;
  new MutationObserver(() => { window.__mostRetryNotices = Math.max(window.__mostRetryNotices, count()); })
    .observe(document.getElementById('toasts'), { subtree: true, childList: true, characterData: true });
}"""


def test_repeated_retries_show_one_notice_that_goes_when_the_reply_ends(served, doc, model, new_page):
    busy = [Reply.http_error(503, "Busy.", retry_after=0.3) for _ in range(4)]
    model.script(*busy, Reply(text="Back again."))
    page = new_page()
    open_document(page, served.url, doc)
    page.evaluate(COUNT_RETRY_NOTICES)
    send(page, "Summarise")
    notices = page.locator("#toasts .toast").filter(has_text="trying again")
    expect(notices).to_have_count(1)
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".msg-body")).to_have_text("Back again.")
    assert len(model.chat_requests) == 5
    # Four waits, one notice: each wait replaced the one before (a pile of stale countdowns said nothing true).
    assert page.evaluate("window.__mostRetryNotices") == 1
    # The reply is there: the notice about waiting for it is over.
    expect(notices).to_have_count(0)
