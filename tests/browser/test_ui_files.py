"""Files as context in the browser: attach to a chat (button or drop), see the files with their size in tokens,
see them named in the reply's receipt; the document's files; a file the server refuses says why."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from file_samples import make_docx, make_pdf
from playwright.sync_api import expect

from .helpers import assistant, open_document, send, session_of

pytestmark = pytest.mark.browser

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

DROP = """([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "text/markdown" }));
  const pane = document.getElementById("chat-pane");
  for (const type of ["dragover", "drop"]) {
    pane.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def test_attach_a_file_and_see_it_in_the_chat_and_the_receipt(served, doc, model, new_page):
    model.default = Reply(text="The budget is 40,000 euros.")
    page = new_page()
    open_document(page, served.url, doc)
    # No chat yet: attaching starts one, as the first message would.
    page.locator("#attach-input").set_input_files(
        files=[{"name": "grant.pdf", "mimeType": PDF, "buffer": make_pdf("Budget: 40,000 euros over two years.")}])
    strip = page.locator("#chat-files")
    expect(strip).to_be_visible()
    item = strip.locator(".file-item")
    expect(item).to_have_count(1)
    expect(item.locator(".file-name")).to_have_text("grant.pdf")
    expect(item.locator(".file-kind")).to_have_text("PDF")
    [meta] = served.api("GET", f"/api/sessions/{session_of(served, page)['id']}/files")["files"]
    expect(item.locator(".file-tokens")).to_have_text(f"≈{meta['tokens']} tokens")

    send(page, "What is the budget?")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete", timeout=15_000)
    expect(reply.locator(".receipt-files")).to_have_text(f"Files: grant.pdf (≈{meta['tokens']} tokens)")
    system = model.requests[-1].json["messages"][0]["content"]
    assert '<file name="grant.pdf"' in system and "Budget: 40,000 euros over two years." in system

    # A file dropped onto the chat is attached too; one is removed with its × button.
    page.evaluate(DROP, ["notes.md", "# Notes\n\nInterview forty teams."])
    expect(item).to_have_count(2)
    expect(strip.locator(".file-item").nth(1).locator(".file-kind")).to_have_text("MD")
    strip.locator(".file-item").first.get_by_role("button", name="Remove grant.pdf").click()
    page.locator("#confirm-dialog .confirm-ok").click()
    expect(item).to_have_count(1)
    expect(item.locator(".file-name")).to_have_text("notes.md")


def test_document_files_reach_every_chat_and_refusals_say_why(served, doc, new_page):
    page = new_page()
    open_document(page, served.url, doc)
    page.locator("#doc-files summary").click()
    expect(page.locator("#doc-files-list")).to_contain_text("No files yet")
    page.locator("#doc-files-input").set_input_files(
        files=[{"name": "guide.docx", "mimeType": DOCX, "buffer": make_docx("Ask every team about tools.")}])
    doc_item = page.locator("#doc-files-list .file-item")
    expect(doc_item.locator(".file-name")).to_have_text("guide.docx")
    expect(doc_item.locator(".file-tokens")).to_contain_text("tokens")
    expect(page.locator("#doc-files-count")).to_contain_text("1 ·")

    # The chat (started by the first message) lists the document's file as its own context.
    send(page, "Hello")
    expect(page.locator("#chat-files .file-item[data-scope='document'] .file-name")).to_have_text("guide.docx")
    # A document's file has no remove button in the chat: it is removed from the document.
    expect(page.locator("#chat-files .file-item[data-scope='document'] button")).to_have_count(0)

    # A binary file named .txt is refused with the server's reason, and nothing is added.
    page.locator("#attach-input").set_input_files(
        files=[{"name": "photo.txt", "mimeType": "text/plain", "buffer": bytes(range(256)) * 8}])
    expect(page.locator(".toast-error")).to_contain_text("Could not add “photo.txt”: This file is not text")
    expect(page.locator("#chat-files .file-item")).to_have_count(1)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_files_fit_the_page(served, doc, new_page, width, tmp_path):
    session = served.api("POST", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions", {})
    page = new_page()
    page.set_viewport_size({"width": width, "height": 820})
    open_document(page, served.url, doc)
    page.locator("#attach-input").set_input_files(files=[
        {"name": f"a-rather-long-file-name-for-the-appendix-{i}.md", "mimeType": "text/markdown",
         "buffer": b"# Appendix\n\nText." * 40} for i in range(3)])
    expect(page.locator("#chat-files .file-item")).to_have_count(3)
    assert session["id"] in page.url
    page.locator("#doc-files summary").click()
    page.screenshot(path=str(tmp_path / f"files-{width}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
