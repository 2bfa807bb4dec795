"""The header's search box: "/" and Ctrl+K, results with highlighted text, keyboard choice, opening a result."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def chatted(served, doc, model) -> dict:
    """A long chat on the second section, one message with a rare word early in it; an archived chat on the first."""
    model.default = Reply(text="Noted, go on.")
    methods = doc["sections"][1]
    session = served.api("POST", f"/api/documents/{doc['id']}/sections/{methods['id']}/sessions", {"title": "Fieldwork"})
    ids = []
    for i in range(8):
        text = "Should we visit by zeppelin?" if i == 1 else f"Point number {i} about the interviews."
        ids.append(served.api("POST", f"/api/sessions/{session['id']}/messages", {"content": text})["user_message"]["id"])
    summary = doc["sections"][0]
    old = served.api("POST", f"/api/documents/{doc['id']}/sections/{summary['id']}/sessions", {"title": "Old kiwi chat"})
    served.api("PATCH", f"/api/sessions/{old['id']}", {"archived": True})
    served.api("POST", f"/api/documents/{doc['id']}/sections", {"title": "Notes", "content": "<b>bold</b> kiwi"})
    return {"session": session, "message_id": ids[1], "archived": old}


def test_search_and_open_a_message_then_a_section_on_the_same_page(served, doc, chatted, new_page):
    page = new_page(f"{served.url}/")
    expect(page.locator(".doc-link")).to_have_count(1)
    page.keyboard.press("/")
    box = page.locator("#search-input")
    expect(box).to_be_focused()
    box.type("zeppel")
    results = page.locator("#search-results .search-result")
    expect(results).to_have_count(1)
    expect(results.first.locator("mark")).to_have_text(["zeppelin"])
    expect(results.first).to_contain_text("Grant proposal › Methods › Fieldwork")
    box.press("Enter")

    page.wait_for_url(f"**/documents/{doc['id']}*")
    expect(page.locator(".section-card.is-selected")).to_have_attribute("data-id", doc["sections"][1]["id"])
    expect(page.locator("#session-select")).to_have_value(chatted["session"]["id"])
    hit = page.locator(f'#messages .msg[data-id="{chatted["message_id"]}"]')
    expect(hit).to_have_attribute("data-search-hit", "1")
    expect(hit).to_be_in_viewport()

    # Ctrl+K on the document page; arrows choose; the first section opens without a reload.
    page.locator("#messages").click()
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    box.fill("funding")
    expect(results).to_have_count(1)
    page.evaluate("window.__same_page = true")
    box.press("ArrowDown")  # wraps around to the only result
    box.press("Enter")
    expect(page.locator(".section-card.is-selected")).to_have_attribute("data-id", doc["sections"][0]["id"])
    assert page.evaluate("window.__same_page") is True
    expect(page.locator("#search-results")).to_be_hidden()


def test_an_archived_chat_opens_and_user_text_is_never_html(served, doc, chatted, new_page):
    page = new_page(f"{served.url}/documents/{doc['id']}")
    expect(page.locator(".section-card")).to_have_count(3)
    box = page.locator("#search-input")
    box.click()
    box.fill("kiwi")
    results = page.locator("#search-results .search-result")
    expect(results).to_have_count(2)
    note = results.filter(has_text="Notes")
    expect(note.locator(".search-snippet")).to_have_text("<b>bold</b> kiwi")
    expect(page.locator("#search-results b")).to_have_count(0)
    chat = results.filter(has_text="archived")
    expect(chat).to_contain_text("Old kiwi chat")
    chat.click()
    expect(page.locator(".section-card.is-selected")).to_have_attribute("data-id", doc["sections"][0]["id"])
    expect(page.locator("#session-select")).to_have_value(chatted["archived"]["id"])
    expect(page.locator("#session-select option:checked")).to_have_text("Old kiwi chat")
    box.press("Escape")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_results_fit_the_screen(served, doc, chatted, new_page, width, tmp_path):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{served.url}/documents/{doc['id']}")
    expect(page.locator(".section-card")).to_have_count(3)
    box = page.locator("#search-input")
    box.click()
    box.fill("interviews")
    expect(page.locator("#search-results .search-result").first).to_be_visible()
    page.screenshot(path=str(tmp_path / f"search-{width}.png"))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    right = page.evaluate("document.getElementById('search-results').getBoundingClientRect().right")
    assert right <= width
