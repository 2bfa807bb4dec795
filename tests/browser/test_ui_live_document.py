"""The live document: a second tab sees section and chat changes as they are saved, and sockets close cleanly."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import open_document, wait_live

pytestmark = pytest.mark.browser


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_switching_chats_many_times_logs_no_console_error(served, doc, new_page):
    section = doc["sections"][0]
    for title in ("First chat", "Second chat", "Third chat"):
        served.api("POST", f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", {"title": title})
    page = new_page()
    errors = console_errors(page)
    open_document(page, served.url, doc)
    wait_live(page)
    select = page.locator("#session-select")
    ids = select.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert len(ids) == 3
    for i in range(12):
        select.select_option(ids[i % 3])
        if i % 2:
            wait_live(page)  # half the switches wait for the socket to open, half leave it connecting
    wait_live(page)
    page.wait_for_timeout(500)
    assert errors == []
