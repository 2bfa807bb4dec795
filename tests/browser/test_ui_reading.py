"""Sections that read like a document, and what a user hit in the chat: a section's Preview, Read mode,
coloured code with a Copy button, images as links, the offline note kept out of Replace, the streaming
bubble growing with its text, toasts clear of Send, the dark theme. No console error anywhere."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .conftest import Served
from .helpers import assistant, card, open_document, send

pytestmark = pytest.mark.browser

SECTIONS = [
    {"title": "Grant proposal", "type": "header", "level": 1},
    {"title": "Summary", "content": "We ask for **funding**.\n\n- one\n- two\n\n```python\ndef f(x):\n    return x\n```"},
    {"title": "Budget", "type": "header", "level": 2, "content": "Totals *below*."},
    {"title": "Methods", "content": "We interview forty teams."},
]


@pytest.fixture
def console(new_page):
    """A page that records every console error (not only the CSP's), checked at the end of the test."""
    errors: list[str] = []

    def _open(url=None, context=None):
        page = new_page(url, context)
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        return page

    yield _open
    assert not errors, f"console errors: {errors}"


def make_doc(served: Served) -> dict:
    return served.api("POST", "/api/documents", {"title": "Grant proposal", "sections": SECTIONS})


def test_a_section_previews_rendered_markdown_and_goes_back_to_its_text(served, console):
    doc = make_doc(served)
    page = console()
    open_document(page, served.url, doc, 1)
    summary = card(page, 1)
    summary.locator(".sec-content").fill("We ask for **funding** now.\n\n# Inside")
    summary.locator(".preview-toggle").click()  # the typed text is saved first, then shown formatted
    preview = summary.locator(".sec-preview")
    expect(preview.locator("strong")).to_have_text("funding")
    expect(preview.locator("h1")).to_have_text("Inside")
    expect(summary.locator(".sec-content")).to_be_hidden()
    assert served.api("GET", f"/api/documents/{doc['id']}")["sections"][1]["content"].startswith("We ask for **funding** now.")
    # A header section previews its title as a heading at its level (level 2 under the document's h1: h3).
    budget = card(page, 2)
    budget.locator(".preview-toggle").click()
    expect(budget.locator(".sec-preview h3.read-heading")).to_have_text("Budget")
    expect(budget.locator(".sec-preview em")).to_have_text("below")
    expect(budget.locator(".sec-title")).to_be_hidden()
    summary.locator(".preview-toggle").click()
    expect(summary.locator(".sec-content")).to_be_visible()
    expect(summary.locator(".sec-preview")).to_be_hidden()


def test_read_mode_shows_the_whole_document_with_headings_at_their_levels(served, console):
    doc = make_doc(served)
    page = console()
    open_document(page, served.url, doc, 0)
    page.locator("#read-toggle").click()
    reader = page.locator("#reader")
    expect(reader.locator(".read-section")).to_have_count(4)
    expect(page.locator("#section-list")).to_be_hidden()
    expect(reader.locator("h2.read-heading")).to_have_text("Grant proposal")
    expect(reader.locator("h3.read-heading")).to_have_text("Budget")
    expect(reader.locator(".read-title")).to_have_text(["Summary", "Methods"])  # text sections: a title line
    expect(reader.locator(".read-section").nth(1).locator("li")).to_have_text(["one", "two"])
    code = reader.locator(".read-section").nth(1).locator("pre code")
    expect(code.locator("span.hl-k").first).to_have_text("def")
    # Read top to bottom, in order.
    order = reader.locator(".read-head > :first-child").evaluate_all("els => els.map(e => e.textContent)")
    assert order == ["Grant proposal", "Summary", "Budget", "Methods"]
    # "Edit" on a section goes back to it.
    reader.locator(".read-section").nth(3).hover()
    reader.locator(".read-section").nth(3).locator(".read-edit").click()
    expect(reader).to_be_hidden()
    expect(card(page, 3)).to_have_class("section-card is-selected")


def test_code_is_coloured_with_a_working_copy_button_and_an_image_is_a_link(served, model, console):
    doc = make_doc(served)
    model.script(Reply(tokens=["Use this:\n\n", "```python\nimport os\nprint(os.getcwd())  # where\n```\n\n",
                               "![the chart](https://images.example/chart.png)\n"]))
    page = console()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    open_document(page, served.url, doc, 1)
    send(page, "Show me code")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    code = reply.locator(".msg-body pre code")
    expect(code.locator(".hl-kn")).to_have_text("import")
    expect(code.locator(".hl-c1")).to_have_text("# where")
    colours = code.evaluate("c => [getComputedStyle(c.querySelector('.hl-kn')).color, "
                            "getComputedStyle(c.querySelector('.hl-c1')).color, getComputedStyle(c).color]")
    assert len(set(colours)) == 3, colours  # keyword, comment and plain text differ
    reply.locator(".code-copy").click()
    expect(reply.locator(".code-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "import os\nprint(os.getcwd())  # where\n"
    # The image is a link to it: nothing is loaded from the other site, no broken picture.
    link = reply.locator(".msg-body a.image-link")
    expect(link).to_have_text("Image: the chart")
    expect(link).to_have_attribute("href", "https://images.example/chart.png")
    expect(reply.locator("img")).to_have_count(0)


def test_replace_with_an_offline_reply_keeps_the_offline_note_out_of_the_section(make_app, console):
    served = Served(make_app, {}).start()  # no model server: the offline assistant answers
    try:
        doc = make_doc(served)
        page = console()
        open_document(page, served.url, doc, 3)
        send(page, "How many teams?")
        reply = assistant(page)
        expect(reply).to_have_attribute("data-status", "complete")
        expect(reply.locator(".msg-notice")).to_contain_text("OPENAI_API_KEY")
        reply.locator(".apply-menu summary").click()
        reply.get_by_role("button", name="Replace the section text").click()
        review = page.locator("dialog.review-dialog")  # every applied reply is reviewed first
        expect(review).to_be_visible()
        review.get_by_role("button", name="Save", exact=True).click()
        expect(reply.locator(".apply-result")).to_contain_text("Replaced the section text")
        text = card(page, 3).locator(".sec-content").input_value()
        assert "forty teams" in text and "offline assistant" not in text and "OPENAI" not in text
        saved = served.api("GET", f"/api/documents/{doc['id']}")["sections"][3]["content"]
        assert saved == text
    finally:
        served.stop()


def test_the_streaming_bubble_grows_with_its_text_in_a_long_chat(served, model, console):
    doc = make_doc(served)
    page = console()
    page.set_viewport_size({"width": 1280, "height": 640})
    open_document(page, served.url, doc, 3)
    filler = "\n\n".join(f"Paragraph {n} of an earlier answer that takes some room." for n in range(30))
    model.script(Reply(text=filler), Reply(text=filler),
                 Reply(tokens=[f"Line {n} of a long streamed reply.\n\n" for n in range(40)], delay=0.1))
    for question in ("First question", "Second question"):
        send(page, question)
        expect(assistant(page)).to_have_attribute("data-status", "complete")
    assert page.evaluate("(m => m.scrollHeight > 2 * m.clientHeight)(document.querySelector('#messages'))")
    send(page, "Now a long one")
    streaming = page.locator("#messages .msg-assistant.status-streaming")
    expect(streaming).to_have_count(1)
    samples = []
    for _ in range(40):  # the reply takes about 4 s: sampled until it ends (a loaded machine samples fewer)
        page.wait_for_timeout(100)
        found = page.evaluate("""() => { const m = document.querySelector('#messages .msg-assistant.status-streaming');
          if (!m) return null; const b = m.querySelector('.msg-body');
          return { box: m.getBoundingClientRect().height, body: b.getBoundingClientRect().bottom,
                   bottom: m.getBoundingClientRect().bottom, overflow: m.scrollHeight - m.clientHeight }; }""")
        if not found:
            break
        samples.append(found)
        assert found["body"] <= found["bottom"] + 1, f"the text spills out of the bubble: {found}"
        assert found["overflow"] <= 1, found
    assert len(samples) >= 5 and samples[-1]["box"] > samples[0]["box"] + 100, samples  # it grows, well past 68 px
    expect(assistant(page)).to_have_attribute("data-status", "complete")


def test_toasts_never_cover_send(served, console):
    doc = make_doc(served)
    page = console()
    open_document(page, served.url, doc, 1)
    page.evaluate("""async () => { const { toast } = await import('/static/js/ui.js');
      for (let n = 0; n < 4; n++) toast(`A rather long notification number ${n} that wraps over two lines`); }""")
    expect(page.locator(".toast")).to_have_count(4)
    send_box = page.locator("#send-btn").bounding_box()
    for toast in page.locator(".toast").all():
        box = toast.bounding_box()
        overlaps = not (box["x"] + box["width"] <= send_box["x"] or send_box["x"] + send_box["width"] <= box["x"]
                        or box["y"] + box["height"] <= send_box["y"] or send_box["y"] + send_box["height"] <= box["y"])
        assert not overlaps, (box, send_box)


def luminance(rgb: str) -> float:
    parts = [int(float(v)) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


COLOURS = """sel => { const e = document.querySelector(sel); const s = getComputedStyle(e);
  let bg = s.backgroundColor, n = e;
  while (bg === 'rgba(0, 0, 0, 0)' && n.parentElement) { n = n.parentElement; bg = getComputedStyle(n).backgroundColor; }
  return [s.color, bg]; }"""


def test_the_dark_theme_follows_the_system_and_stays_readable(served, model, console):
    doc = make_doc(served)
    model.script(Reply(text="Some `code` and\n\n```python\nx = 1  # one\n```\n"))
    page = console()
    page.emulate_media(color_scheme="dark")
    open_document(page, served.url, doc, 1)
    send(page, "Hello")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    for selector in ("body", ".section-card .sec-content", ".msg-assistant .msg-body", ".msg-assistant pre code",
                     ".msg-user .msg-text", "#send-btn", ".receipt", ".pane-head h2", "#composer-input"):
        text, background = page.evaluate(COLOURS, selector)
        assert luminance(background) < 0.2, f"{selector}: the background {background} is not dark"
        assert contrast(text, background) >= 4.5, f"{selector}: {text} on {background} is hard to read"
    body_text, _ = page.evaluate(COLOURS, "body")
    assert luminance(body_text) > 0.6
    page.locator("#read-toggle").click()
    expect(page.locator("#reader .read-section")).to_have_count(4)
    text, background = page.evaluate(COLOURS, "#reader h2.read-heading")
    assert luminance(background) < 0.2 and contrast(text, background) >= 7
    # And light stays light.
    page.emulate_media(color_scheme="light")
    _, background = page.evaluate(COLOURS, "body")
    assert luminance(background) > 0.8


def test_at_1400_px_the_receipt_and_the_model_label_are_whole(served, model, console):
    doc = make_doc(served)
    model.script(Reply(text="A short answer."))
    page = console()
    page.set_viewport_size({"width": 1400, "height": 820})
    open_document(page, served.url, doc, 1)
    send(page, "Hello")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    receipt = reply.locator(".receipt")
    expect(receipt).to_contain_text("tokens")
    assert receipt.evaluate("r => r.scrollWidth <= r.clientWidth && r.getBoundingClientRect().right <= "
                            "r.closest('.msg').getBoundingClientRect().right")
    # The model picker is as wide as its label needs (a copy of it outside the bar shows how wide that is).
    widths = page.evaluate("""() => { const s = document.querySelector('#model-select'); const c = s.cloneNode(true);
      c.id = ''; c.style.position = 'absolute'; c.style.maxWidth = 'none'; document.body.append(c);
      const natural = c.getBoundingClientRect().width; c.remove();
      return [s.getBoundingClientRect().width, Math.min(natural, 240)]; }""")
    assert widths[0] >= widths[1] - 1, widths
