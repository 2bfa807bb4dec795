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


DARK = SCREENSHOT.with_name("screenshot-dark.png")


def test_screenshot_of_the_dark_theme(served, model, new_page):
    """The README's dark screenshot: a section previewed, a reply with coloured code, prefers-color-scheme: dark."""
    doc = served.api("POST", "/api/documents", {
        "title": "Grant proposal: teams that write with AI",
        "sections": [
            {"title": "Grant proposal", "type": "header", "level": 1},
            {"title": "Summary", "content": (
                "We ask for **40,000 euros** over two years to study how teams write with an assistant.\n\n"
                "- Forty teams, interviewed twice\n- One researcher, full time")},
            {"title": "Analysis", "content": "We code the transcripts twice and compare the codes."},
        ],
    })
    model.script(Reply(tokens=[
        "Agreement between the two codings, as a script:\n\n",
        "```python\nfrom sklearn.metrics import cohen_kappa_score\n\n",
        "def agreement(first, second):\n    # Cohen's kappa: 1.0 is full agreement\n",
        "    return round(cohen_kappa_score(first, second), 2)\n```\n\n",
        "Report it per *code*, not only overall.\n"], delay=0.03))
    page = new_page()
    page.emulate_media(color_scheme="dark")
    open_document(page, served.url, doc, 1)
    page.locator(".section-card").nth(1).locator(".preview-toggle").click()
    expect(page.locator(".section-card").nth(1).locator(".sec-preview li")).to_have_count(2)
    page.locator(".section-card").nth(2).locator(".sec-title").click()
    expect(page.locator("#chat-section-name")).to_contain_text("Analysis")
    send(page, "How do we measure agreement between the two codings?")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".hl-kn").first).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=str(DARK))
    assert DARK.stat().st_size > 10_000
