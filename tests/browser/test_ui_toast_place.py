"""Toasts keep clear of the header, the open search results and the chat's controls (Presets, Chat settings, Send),
on a wide screen and a phone, light and dark, and stay on screen and announced."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import open_document

pytestmark = pytest.mark.browser

# The toasts' boxes that meet a box they must keep clear of, or leave the screen ([] when none).
CLEAR = """() => {
  const shown = (n) => n && !n.closest('[hidden]') && n.getBoundingClientRect().width > 0;
  const names = ['.topbar', '#search-results', '#chat-settings-btn', '#manage-presets', '#send-btn'];
  const keep = names.map((s) => [s, document.querySelector(s)]).filter(([, n]) => shown(n));
  const bad = [];
  for (const toast of document.querySelectorAll('#toasts .toast')) {
    const t = toast.getBoundingClientRect();
    if (t.top < 0 || t.left < 0 || t.bottom > innerHeight || t.right > innerWidth) bad.push('off screen');
    for (const [name, node] of keep) {
      const r = node.getBoundingClientRect();
      if (t.left < r.right && r.left < t.right && t.top < r.bottom && r.top < t.bottom) bad.push(name);
    }
  }
  return bad;
}"""


def _clear(page, where: str) -> None:
    try:
        page.wait_for_function(f"() => ({CLEAR})().length === 0", timeout=3000)
    except Exception:
        raise AssertionError(f"{where}: toasts cover {page.evaluate(CLEAR)}") from None


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")])
def test_toasts_keep_clear_of_the_header_search_and_chat_controls(served, doc, browser, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 800 if width > 600 else 844},
                                  color_scheme=scheme)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        open_document(page, served.url, doc)
        for name in ("#chat-settings-btn", "#manage-presets"):
            page.locator(name).scroll_into_view_if_needed()
        page.evaluate("""async () => { const { toast } = await import('/static/js/ui.js');
          toast('Chat settings saved: the chat now uses a rather long model name.');
          toast('Could not switch branches: the server cannot be reached.', { kind: 'error' }); }""")
        toasts = page.locator("#toasts .toast")
        expect(toasts).to_have_count(2)
        expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
        _clear(page, "the chat's controls in view")

        # The search results open under the header.
        page.locator("#search-input").click()
        page.locator("#search-input").fill("budget")
        expect(page.locator("#search-results .search-result")).not_to_have_count(0)
        _clear(page, "search results open")
        page.keyboard.press("Escape")

        # The composer in view (on a phone the page scrolls: the chat's head goes up, Send comes up from below).
        page.locator("#send-btn").scroll_into_view_if_needed()
        _clear(page, "the composer in view")
        for toast in toasts.all():
            expect(toast).to_be_in_viewport(ratio=1)
        assert not errors, errors
    finally:
        context.close()
