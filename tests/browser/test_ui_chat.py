"""Chatting in the browser: streaming, Markdown, stop, model errors with Retry, inert HTML."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import RECORD_STREAM, assistant, open_document, send, session_of, streamed

pytestmark = pytest.mark.browser

MARKDOWN_TOKENS = [
    "## Budget check\n\n", "The budget ", "is **40,000 euros** ", "over two years.\n\n",
    "- one engineer\n", "- forty interviews\n\n", "```python\n", "total = 40_000\n", "```\n\n",
    "| Year | Cost |\n", "|---|---|\n", "| 1 | 20,000 |\n",
]


def test_reply_streams_in_and_renders_markdown(served, doc, model, new_page):
    model.script(Reply(tokens=MARKDOWN_TOKENS, delay=0.12))
    page = new_page()
    open_document(page, served.url, doc)
    page.evaluate(RECORD_STREAM)

    box = page.locator("#composer-input")
    box.click()
    box.type("Is the budget")
    box.press("Shift+Enter")  # a new line, not a send
    box.type("right?")
    expect(box).to_have_value("Is the budget\nright?")
    expect(page.locator("#messages .msg-user")).to_have_count(0)
    box.press("Enter")

    expect(page.locator("#messages .msg-user .msg-text")).to_have_text("Is the budget\nright?")
    expect(box).to_have_value("")
    reply = assistant(page)
    expect(reply).to_have_class("msg msg-assistant status-streaming")
    expect(page.locator("#gen-state")).to_be_visible()
    expect(page.locator("#stop-btn")).to_be_visible()
    expect(reply).to_have_attribute("data-status", "complete", timeout=15_000)

    seen = streamed(page)
    assert len(seen) >= 3, f"expected several partial replies before done, saw {seen}"
    final_text = reply.locator(".msg-body").text_content()
    assert len(seen[0]) < len(final_text)
    # Rendered Markdown, from the server's sanitiser.
    expect(reply.locator(".msg-body h2")).to_have_text("Budget check")
    expect(reply.locator(".msg-body strong")).to_have_text("40,000 euros")
    expect(reply.locator(".msg-body li")).to_have_count(2)
    expect(reply.locator(".msg-body pre code")).to_contain_text("total = 40_000")
    expect(reply.locator(".msg-body table td").first).to_have_text("1")
    # Generating state is gone; the compact context receipt is shown.
    expect(page.locator("#gen-state")).to_be_hidden()
    expect(page.locator("#send-btn")).to_be_visible()
    expect(reply.locator(".receipt")).to_contain_text("fake-model")
    expect(reply.locator(".receipt")).to_contain_text("section v1")

    session = session_of(served, page)
    assert [(m["role"], m["status"]) for m in session["messages"]] == [("user", "complete"), ("assistant", "complete")]
    assert session["messages"][0]["content"] == "Is the budget\nright?"
    assert session["messages"][1]["content"] == "".join(MARKDOWN_TOKENS)


def test_stop_keeps_the_partial_reply(served, doc, model, new_page):
    words = [f"word{i} " for i in range(80)]
    model.script(Reply(tokens=words, delay=0.1))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Write a lot")
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_contain_text("word3")
    page.locator("#stop-btn").click()

    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator(".msg-state")).to_have_text("Stopped")
    expect(page.locator("#gen-state")).to_be_hidden()
    expect(page.locator("#stop-btn")).to_be_hidden()
    assert model.chat_requests[-1].disconnected.wait(5), "stop did not close the model stream"

    saved = session_of(served, page)["messages"][-1]
    assert saved["status"] == "stopped"
    assert saved["content"] and "".join(words).startswith(saved["content"])
    assert len(saved["content"]) < len("".join(words))
    expect(reply.locator(".msg-body")).to_have_text(saved["content"].strip())


def test_model_error_shows_inline_with_a_retry_that_works(served, doc, model, new_page):
    # A 500 is retried by itself; one asking to wait longer than the app's budget is reported at once.
    model.script(Reply.http_error(500, "Upstream exploded", retry_after=600), Reply(text="Second time lucky."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Summarise")

    failed = assistant(page)
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed.locator(".msg-error")).to_contain_text("The model server failed (500)")
    expect(failed.locator(".msg-error")).to_contain_text("asked to wait 600 seconds")
    retry = failed.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(failed.get_by_role("button", name="Continue")).to_have_count(0)  # nothing to go on from
    retry.click()

    # The new reply is a branch beside the failed one (kept, one click away).
    recovered = assistant(page)
    expect(recovered.locator(".msg-body")).to_have_text("Second time lucky.")
    expect(recovered).to_have_attribute("data-status", "complete")
    expect(page.locator("#messages .msg-assistant")).to_have_count(1)
    expect(recovered.locator(".branch-count")).to_have_text("2 / 2")
    expect(retry).to_be_hidden()
    session = session_of(served, page)  # its page shows the active branch; the failed reply is its sibling
    messages = session["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and session["message_count"] == 3
    assert messages[1]["status"] == "complete" and messages[1]["sibling_index"] == 1
    failed_id = messages[1]["sibling_ids"][0]
    assert session_of_leaf(served, session["id"], failed_id)["messages"][1]["status"] == "error"


def test_html_from_a_model_or_a_document_stays_inert(served, model, new_page):
    doc = served.api("POST", "/api/documents", {
        "title": 'Plan <img src=x onerror="window.__pwned=1;alert(1)">',
        "sections": [{
            "title": '<img src=x onerror="window.__pwned=2;alert(2)">Budget',
            "content": "The budget is fine. <script>window.__pwned=3;alert(3)</script>",
        }],
    })
    model.script(Reply(text='See <img src=x onerror="window.__pwned=4;alert(4)"> and '
                            '<script>window.__pwned=5;alert(5)</script> and [a link](javascript:alert(6)) here.'))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "<b>bold?</b> <img src=x onerror=alert(7)>")
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")

    # Shown as text...
    expect(reply.locator(".msg-body")).to_contain_text('<img src=x onerror="window.__pwned=4;alert(4)">')
    expect(reply.locator(".msg-body")).to_contain_text("<script>window.__pwned=5;alert(5)</script>")
    expect(page.locator("#messages .msg-user .msg-text")).to_have_text("<b>bold?</b> <img src=x onerror=alert(7)>")
    expect(page.locator("#doc-title")).to_have_text('Plan <img src=x onerror="window.__pwned=1;alert(1)">')
    expect(page.locator(".section-card .sec-title")).to_have_value('<img src=x onerror="window.__pwned=2;alert(2)">Budget')
    # ...and never as markup that could run.
    assert page.locator("img").count() == 0
    assert page.locator("#messages script, #sections-pane script").count() == 0
    assert page.locator("#messages b").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.goto(served.url + "/")
    expect(page.locator(".doc-link")).to_have_text('Plan <img src=x onerror="window.__pwned=1;alert(1)">')
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.probe.dialogs == []


def test_auto_scroll_follows_the_reply_until_the_user_scrolls_up(served, doc, model, new_page):
    model.script(Reply(tokens=[f"Line {i} of a long reply.\n\n" for i in range(150)], delay=0.08))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Write many lines")
    messages = page.locator("#messages")
    reply = assistant(page)
    expect(reply.locator(".msg-body")).to_contain_text("Line 25 ")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 60"
    assert messages.evaluate(at_bottom), "the list did not follow the reply"

    messages.evaluate("el => el.scrollTo(0, 0)")
    expect(page.locator("#jump-latest")).to_be_visible()
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    assert messages.evaluate("el => el.scrollTop") == 0, "the list scrolled although the user had scrolled up"
    page.locator("#jump-latest").click()
    assert messages.evaluate(at_bottom)


def test_a_failure_before_the_first_token_is_ridden_out_and_said(served, doc, model, new_page):
    model.script(Reply.http_error(503, "Busy.", retry_after=0.5), Reply(text="Worth the wait."))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "Summarise")
    expect(page.locator(".toast").filter(has_text="trying again in 0.5 seconds")).to_be_visible()
    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".msg-body")).to_have_text("Worth the wait.")
    expect(page.locator("#messages .msg-assistant")).to_have_count(1)
    expect(reply.locator(".msg-error")).to_be_hidden()


def test_an_interrupted_reply_offers_continue_which_appends_to_it(served, doc, model, new_page):
    model.script(Reply(tokens=["The budget ", "is forty"], end="cut"), Reply(tokens=[" thousand", " euros."]))
    page = new_page()
    open_document(page, served.url, doc)
    send(page, "What is the budget?")

    reply = assistant(page)
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply.locator(".msg-body")).to_have_text("The budget is forty")
    expect(reply.locator(".msg-error")).to_contain_text("lost in the middle of the reply")
    expect(reply.locator(".msg-state")).to_have_text("Partial reply")
    retry = reply.get_by_role("button", name="Retry")
    go_on = reply.get_by_role("button", name="Continue")
    expect(retry).to_be_visible()
    expect(go_on).to_be_visible()
    go_on.click()

    expect(reply).to_have_attribute("data-status", "complete")
    expect(page.locator("#messages .msg-assistant")).to_have_count(1)  # the same reply, not a new one
    expect(reply.locator(".msg-body")).to_have_text("The budget is forty thousand euros.")
    expect(reply.locator(".msg-error")).to_be_hidden()
    expect(reply.get_by_role("button", name="Continue")).to_have_count(0)
    expect(page.locator("#gen-state")).to_be_hidden()
    messages = session_of(served, page)["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[1]["content"] == "The budget is forty thousand euros."
    # The model was asked to go on from its own text.
    assert model.chat_requests[-1].json["messages"][-2] == {"role": "assistant", "content": "The budget is forty"}


def session_of_leaf(served, session_id: str, leaf: str) -> dict:
    """The page of a chat's branch through `leaf`."""
    return served.api("GET", f"/api/sessions/{session_id}?leaf={leaf}")
