"""Every page at phone width (390 px): nothing wider than the screen, with accounts on and off."""
from __future__ import annotations

import pytest
from auth_helpers import FAST_HASH
from playwright.sync_api import expect

from .conftest import FAKE_KEY, Served
from .helpers import sign_up

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
OVERFLOW = """() => ({ width: document.documentElement.scrollWidth, inner: innerWidth,
  wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1
    && getComputedStyle(e).position !== 'fixed' && e.getClientRects().length)
    .slice(0, 5).map(e => `${e.tagName}#${e.id}.${e.className}`) })"""


def phone_page(browser, url: str, errors: list[str]):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if url:
        page.goto(url)
    return page


def assert_fits(page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    found = page.evaluate(OVERFLOW)
    assert found["width"] <= found["inner"], f"{where} is {found['width']} px wide at 390 px: {found['wide']}"


def document_of(served: Served) -> dict:
    return served.api("POST", "/api/documents", {"title": "A grant proposal with a rather long title", "sections": [
        {"title": "Summary", "content": "We ask for funding. The budget is 40,000 euros over two years."}]})


def check_document_page(page, base: str, doc: dict) -> None:
    page.goto(f"{base}/documents/{doc['id']}")
    expect(page.locator(".section-card")).to_have_count(1)
    expect(page.locator("#composer-input")).to_be_visible()
    assert_fits(page, "the document page")
    for name in ("#add-section-end", "#read-toggle", "#send-btn", ".section-card .preview-toggle"):
        box = page.locator(name).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{name} is cut off: {box}"
    page.locator("#read-toggle").click()
    expect(page.locator("#reader .read-section")).to_have_count(1)
    assert_fits(page, "Read mode")


def test_every_page_fits_a_phone_in_local_mode(browser, served):
    errors: list[str] = []
    doc = document_of(served)
    page = phone_page(browser, served.url + "/", errors)
    expect(page.locator("body")).to_be_visible()
    assert_fits(page, "the documents page")
    check_document_page(page, served.url, doc)
    page.goto(served.url + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert_fits(page, "the API reference")
    assert not errors, errors


def test_every_page_fits_a_phone_with_accounts(browser, make_app, model):
    server = Served(make_app, {"AUTH": "password", "PASSWORD_METHOD": FAST_HASH, "OPENAI_BASE_URL": model.url,
                               "OPENAI_API_KEY": FAKE_KEY, "MODEL": "fake-model"}).start()
    errors: list[str] = []
    try:
        page = phone_page(browser, server.url + "/", errors)
        page.wait_for_url("**/signup")
        assert_fits(page, "the first sign-up page")
        sign_up(page, "alice-with-a-long-name")
        page.wait_for_url(server.url + "/")
        expect(page.locator("#user-name")).to_be_visible()
        assert_fits(page, "the documents page")
        page.locator("#new-doc-title").fill("A grant proposal with a rather long title")
        page.locator("#new-doc-title").press("Enter")
        page.wait_for_url("**/documents/*")
        doc = {"id": page.url.rsplit("/", 1)[1].split("#")[0]}
        page.locator("#add-section-end").click()
        check_document_page(page, server.url, doc)
        for path in ("/account", "/admin", "/api/docs"):
            page.goto(server.url + path)
            assert_fits(page, path)
        signed_out = phone_page(browser, server.url + "/signin", errors)
        expect(signed_out.locator("#username")).to_be_visible()
        assert_fits(signed_out, "the sign-in page")
    finally:
        server.stop()
    assert not errors, errors
