"""The README's screenshot: the document page with a reply streamed into the chat."""
from __future__ import annotations

from pathlib import Path

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import RECORD_STREAM, assistant, open_document, send, streamed

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-document.png"

REPLY = [
    "Here is a tighter version that keeps every figure:\n\n",
    "> We ask for **40,000 euros** over two years ", "to study how teams write with an assistant.\n\n",
    "What changed:\n\n",
    "1. The aim comes first, ", "then the amount.\n",
    "2. *Funding* and *budget* no longer repeat.\n",
    "3. The period stays explicit: `24 months`.\n\n",
    "| Item | Euros |\n", "|---|---:|\n", "| Researcher | 32,000 |\n", "| Travel | 8,000 |\n",
]


def test_screenshot_of_the_document_page(served, model, new_page):
    doc = served.api("POST", "/api/documents", {
        "title": "Grant proposal: teams that write with AI",
        "sections": [
            {"title": "Grant proposal", "type": "header", "level": 1},
            {"title": "Summary", "content": (
                "We ask for funding to study how teams write with an assistant. The budget is 40,000 euros "
                "over two years, most of it for one researcher. Funding covers travel to forty teams.")},
            {"title": "Methods", "content": "We interview forty teams and code the transcripts twice."},
            {"title": "Prior work", "type": "reference", "content": "Writing with machines, 2023."},
        ],
    })
    section_url = f"/api/documents/{doc['id']}/sections/{doc['sections'][2]['id']}"
    served.api("PATCH", section_url, {"status": "reviewed", "version": 1})
    model.script(Reply(tokens=REPLY, delay=0.08))
    page = new_page()
    open_document(page, served.url, doc, 1)
    page.evaluate(RECORD_STREAM)
    send(page, "Make this summary tighter, keep the numbers.")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    assert len(streamed(page)) >= 3
    expect(reply.locator(".msg-body table")).to_be_visible()
    euros = reply.locator(".msg-body td").nth(1)
    assert euros.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    page.locator("#composer-input").fill("Can you also draft a one-line title?")
    page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
