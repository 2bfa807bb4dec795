"""Export from the document page's menu and import on the documents page, as a user does it."""
from __future__ import annotations

import io
import re

import docx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SECTIONS = [
    {"title": "Plan", "type": "header", "level": 1},
    {"title": "", "content": "First we read.\n\nThen we write.", "level": 1},
    {"title": "Budget", "type": "header", "level": 2},
    {"title": "", "content": "40,000 euros.", "level": 2},
    {"title": "", "content": "Money is time.", "type": "reference", "level": 2},
]
KEYS = ("type", "title", "level", "content")


def test_export_docx_from_the_menu_and_import_it_back(served, new_page, tmp_path):
    doc = served.api("POST", "/api/documents", {"title": "Field study", "sections": SECTIONS})
    page = new_page(f"{served.url}/documents/{doc['id']}")
    expect(page.locator(".section-card")).to_have_count(5)
    page.get_by_role("button", name="Export").click()
    menu = page.get_by_role("menu", name="Export as")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem")).to_have_count(5)
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    with page.expect_download() as info:
        menu.get_by_role("menuitem", name=re.compile("Word")).click()
    expect(menu).to_be_hidden()
    download = info.value
    assert download.suggested_filename == "field-study.docx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    word = docx.Document(io.BytesIO(path.read_bytes()))
    assert [(p.style.name, p.text) for p in word.paragraphs] == [
        ("Heading 1", "Plan"), ("Normal", "First we read."), ("Normal", "Then we write."),
        ("Heading 2", "Budget"), ("Normal", "40,000 euros."), ("Quote", "Money is time.")]

    page.goto(served.url + "/")
    expect(page.locator(".doc-row[data-id]")).to_have_count(1)
    page.locator("#import-file").set_input_files(str(path))
    page.wait_for_url(re.compile(r"/documents/(?!" + doc["id"] + r")[0-9a-f-]+$"))
    expect(page.locator("#doc-title")).to_have_text("Field study")
    expect(page.locator(".section-card")).to_have_count(5)
    new_id = page.url.rsplit("/", 1)[-1].split("#")[0]
    copy = served.api("GET", f"/api/documents/{new_id}")
    assert [[s[k] for k in KEYS] for s in copy["sections"]] == [[s[k] for k in KEYS] for s in doc["sections"]]
    assert len(served.api("GET", "/api/documents")["documents"]) == 2


def test_a_file_that_cannot_be_imported_says_why_and_stays(served, new_page, tmp_path):
    broken = tmp_path / "report.docx"
    broken.write_bytes(b"this is no Word file")
    page = new_page(served.url + "/")
    expect(page.locator(".empty-state")).to_be_visible()
    page.locator("#import-file").set_input_files(str(broken))
    expect(page.locator("#docs-error")).to_have_text(
        "Could not import report.docx: report.docx is not a valid DOCX document (damaged or incomplete).")
    expect(page.locator("#import-btn")).to_have_text("Import…")
    expect(page.locator("#import-btn")).to_be_enabled()
    assert page.url == served.url + "/"
    assert served.api("GET", "/api/documents")["documents"] == []


def test_a_bundle_imports_with_its_chats_and_the_menu_fits_a_phone(served, new_page, doc, browser, tmp_path):
    served.api("POST", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions", {"title": "Ideas"})
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = new_page(f"{served.url}/documents/{doc['id']}", context=context)
    try:
        expect(page.locator(".section-card")).to_have_count(2)
        page.get_by_role("button", name="Export").click()
        menu = page.get_by_role("menu", name="Export as")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        with page.expect_download() as info:
            menu.get_by_role("menuitem", name=re.compile("Bundle")).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert path.name == "grant-proposal.vice.zip"

        page.goto(served.url + "/")
        expect(page.locator("#import-btn")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#import-file").set_input_files(str(path))
        page.wait_for_url(re.compile(r"/documents/(?!" + doc["id"] + r")[0-9a-f-]+$"))
        expect(page.locator(".section-card")).to_have_count(2)
        new_id = page.url.rsplit("/", 1)[-1].split("#")[0]
        copy = served.api("GET", f"/api/documents/{new_id}")
        [chat] = served.api("GET", f"/api/documents/{new_id}/sections/{copy['sections'][0]['id']}/sessions")["sessions"]
        assert chat["title"] == "Ideas"
    finally:
        context.close()
