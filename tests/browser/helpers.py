"""What a user does on the pages, as small functions the browser tests share."""
from __future__ import annotations

import re
from typing import Any

from auth_helpers import PASSWORD
from playwright.sync_api import Page, expect

from vice_ai.domain.models import Message
from vice_ai.services import services

# Records every distinct text of the reply being streamed, as the user saw it.
RECORD_STREAM = """() => {
  window.__streamed = [];
  // Watch the whole page: the message list may be redrawn after this starts.
  new MutationObserver(() => {
    const body = document.querySelector('#messages .msg-assistant.status-streaming .msg-body');
    if (!body) return;
    const text = body.textContent;
    if (text && window.__streamed[window.__streamed.length - 1] !== text) window.__streamed.push(text);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def open_document(page: Page, base_url: str, doc: dict, section_index: int = 0) -> None:
    """Open a document page and select one of its sections."""
    page.goto(f"{base_url}/documents/{doc['id']}")
    card(page, section_index).locator(".sec-title").click()
    expect(page.locator("#chat-section-name")).to_contain_text(doc["sections"][section_index]["title"])
    expect(page.locator("#composer-input")).to_be_enabled()


def card(page: Page, index: int):
    return page.locator(".section-card").nth(index)


def send(page: Page, text: str) -> None:
    """Type a message and press Enter, as a user does."""
    box = page.locator("#composer-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def assistant(page: Page, index: int = -1):
    replies = page.locator("#messages .msg-assistant")
    return replies.last if index == -1 else replies.nth(index)


def wait_live(page: Page) -> None:
    """Wait until the chat's websocket is open and the session is loaded."""
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")


def streamed(page: Page) -> list[str]:
    return page.evaluate("window.__streamed || []")


def session_of(served: Any, page: Page) -> dict:
    """The session the page shows, read back through the API."""
    chat_id = page.evaluate("new URLSearchParams(location.hash.slice(1)).get('chat')")
    assert chat_id, "the page shows no chat"
    return served.api("GET", f"/api/sessions/{chat_id}")


def expect_section_titles(page: Page, expected: list[str], timeout: float = 10_000) -> None:
    """Wait until the outline shows exactly these section titles, in order."""
    script = """want => JSON.stringify([...document.querySelectorAll('.section-card .sec-title')]
        .map(input => input.value)) === JSON.stringify(want)"""
    try:
        page.wait_for_function(script, arg=expected, timeout=timeout)
    except Exception:
        shown = page.locator(".section-card .sec-title").evaluate_all("els => els.map(e => e.value)")
        raise AssertionError(f"the outline shows {shown}, expected {expected}") from None


def long_chat(served, doc: dict, count: int) -> list[Message]:
    """A chat of `count` messages on the document's first section, one branch, written straight to the state."""
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


def shown_ids(page) -> list[str]:
    """The ids of the messages the chat shows, top to bottom."""
    return page.locator("#messages .msg").evaluate_all("nodes => nodes.map(n => n.dataset.id)")


def sign_up(page, username: str) -> None:
    """Fill and send the sign-up form (the page shows it)."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password2").fill(PASSWORD)
    page.locator("#signup-form button[type=submit]").click()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-in form (the page shows it)."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")


def sign_out(page) -> None:
    # The page's own requests first: once the sign-in ends on the server, a late one would answer 401
    # and lead to /signin?next=... instead.
    page.wait_for_load_state("networkidle")
    page.locator("#signout-btn").click()
    page.wait_for_url(re.compile(r"/signin(\?next=%2F)?$"))
    expect(page.locator("#signin-form")).to_be_visible()


def top_of(page, message_id: str, scroll_to: int | None = None) -> float:
    """Where a message is in the list's box (scrolling the list first, in the same task, when asked)."""
    return page.locator("#messages").evaluate(
        """(list, [id, to]) => { if (to !== null) list.scrollTop = to;
          return list.querySelector(`.msg[data-id="${id}"]`).getBoundingClientRect().top
            - list.getBoundingClientRect().top; }""", [message_id, scroll_to])


def chain(served: Any, session_id: str, parent: str | None, texts: list[str]) -> list[Message]:
    """Messages saved after `parent` in a served app's chat, each following the one before (a user question first)."""
    state = services(served.app).state
    made = []
    for i, text in enumerate(texts):
        message = Message(role="user" if i % 2 == 0 else "assistant", content=text, parent_id=parent)
        state.append_message(session_id, message)
        made.append(message)
        parent = message.id
    return made
