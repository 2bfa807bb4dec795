"""Replies render as Markdown and nothing from a model or a document can run in the page."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from vice_ai.chat.render import message_view, render_markdown


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    '<iframe src="https://example.com"></iframe>',
    '<div onclick="alert(1)">hi</div>',
])
def test_raw_html_and_script_urls_never_become_markup(hostile):
    tags = markup(render_markdown(hostile))
    assert {name for name, _ in tags} <= {"p", "a"}
    for _, attrs in tags:
        assert all(not name.startswith("on") for name, _ in attrs)
        assert all("javascript" not in (value or "") for _, value in attrs)


def markup(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The real tags and attributes in an HTML string (escaped text does not count)."""
    found: list = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_markdown_features_render():
    html = render_markdown("# Title\n\n- one\n- **two**\n\n```py\nx = 1\n```\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n")
    assert "<h1>Title</h1>" in html and "<li><strong>two</strong></li>" in html
    assert '<code class="language-py">x = 1' in html
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html
    assert "style=" not in html  # the page's CSP allows no inline styles


def test_remote_images_are_never_loaded_and_links_are_safe():
    html = render_markdown("![tracker](https://evil.example/pixel.png) [site](https://example.com)")
    assert 'alt="tracker"' in html and "evil.example" not in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_only_assistant_messages_carry_html():
    assert "html" in message_view({"role": "assistant", "content": "*hi*"})
    assert "html" not in message_view({"role": "user", "content": "*hi*"})
