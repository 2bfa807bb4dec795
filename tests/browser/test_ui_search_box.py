"""The header's search box itself: on a phone a magnifier that opens; its × clears; nothing overlaps or overflows."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TRANSPARENT = "rgba(0, 0, 0, 0)"
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
TEXT_COLOUR = "getComputedStyle(document.getElementById('search-input')).color"


def open_page(new_page, served, doc, width: int, scheme: str):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{served.url}/documents/{doc['id']}")
    expect(page.locator(".section-card")).to_have_count(2)
    return page


def inside(inner: dict, outer: dict) -> bool:
    return (inner["x"] >= outer["x"] and inner["y"] >= outer["y"]
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_closed_box_shows_only_its_magnifier(served, doc, new_page, scheme, tmp_path):
    page = open_page(new_page, served, doc, 390, scheme)
    box, clear = page.locator("#search-input"), page.locator("#search-clear")
    results = page.locator("#search-results")
    assert box.bounding_box()["width"] <= 44
    expect(clear).to_be_hidden()

    box.click()  # it opens over the header
    assert box.bounding_box()["width"] >= 300
    box.fill("budget")
    expect(results.locator(".search-result").first).to_be_visible()
    expect(clear).to_be_visible()
    assert inside(clear.bounding_box(), box.bounding_box())
    assert page.evaluate(TEXT_COLOUR) != TRANSPARENT
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(tmp_path / f"phone-open-{scheme}.png"))

    # Away from it: a magnifier again, the query kept but not shown, no ×.
    page.locator("#chat-heading").click()  # a tap elsewhere on the page
    expect(results).to_be_hidden()
    expect(box).not_to_be_focused()
    assert box.bounding_box()["width"] <= 44
    expect(clear).to_be_hidden()
    assert page.evaluate(TEXT_COLOUR) == TRANSPARENT
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(tmp_path / f"phone-closed-{scheme}.png"))

    # Opening it again shows the query, its × and its results.
    box.click()
    expect(box).to_have_value("budget")
    expect(clear).to_be_visible()
    expect(results.locator(".search-result").first).to_be_visible()

    # The × empties it and leaves it open for the next query; Escape closes it.
    clear.click()
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(results).to_be_hidden()
    expect(clear).to_be_hidden()
    assert box.bounding_box()["width"] >= 300
    box.press("Escape")
    expect(box).not_to_be_focused()
    assert box.bounding_box()["width"] <= 44


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_wide_screen_the_query_and_its_clear_button_stay_and_never_overlap_the_key_hint(
        served, doc, new_page, scheme, tmp_path):
    page = open_page(new_page, served, doc, 1280, scheme)
    box, clear, key = page.locator("#search-input"), page.locator("#search-clear"), page.locator(".search-key")
    expect(key).to_be_visible()
    expect(clear).to_be_hidden()
    box.click()
    box.fill("budget")
    expect(page.locator("#search-results .search-result").first).to_be_visible()
    expect(clear).to_be_visible()
    assert inside(clear.bounding_box(), box.bounding_box())
    page.screenshot(path=str(tmp_path / f"wide-open-{scheme}.png"))

    page.locator("#sections-pane h2").click()  # a click elsewhere on the page
    expect(page.locator("#search-results")).to_be_hidden()
    expect(box).to_have_value("budget")  # the query stays in view, with its ×, and the "/" hint makes room
    assert page.evaluate(TEXT_COLOUR) != TRANSPARENT
    expect(clear).to_be_visible()
    expect(key).to_be_hidden()
    page.screenshot(path=str(tmp_path / f"wide-closed-{scheme}.png"))

    clear.click()
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(key).to_be_visible()
    expect(clear).to_be_hidden()


def test_a_found_untitled_section_says_which_heading_it_is_under(served, new_page):
    made = served.api("POST", "/api/documents", {"title": "Trip notes", "sections": [
        {"title": "Day one", "type": "header", "level": 1},
        {"title": "", "content": "We walked to the lighthouse."}]})
    page = new_page(f"{served.url}/")
    expect(page.locator(".doc-link")).to_have_count(1)
    box = page.locator("#search-input")
    box.click()
    box.fill("lighthouse")
    result = page.locator("#search-results .search-result")
    expect(result).to_have_count(1)
    expect(result.locator(".search-title")).to_have_text("Untitled section")
    expect(result.locator(".search-where")).to_have_text("Trip notes › Day one")
    box.press("Enter")
    page.wait_for_url(f"**/documents/{made['id']}*")
    expect(page.locator(".section-card.is-selected")).to_have_attribute("data-id", made["sections"][1]["id"])
