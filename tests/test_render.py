"""Replies render as Markdown and nothing from a model or a document can run in the page."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import vice_ai
from vice_ai.chat.highlight import TOKEN_CLASSES
from vice_ai.chat.render import RenderCache, message_view, render_markdown


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
    assert '<code class="language-py"><span class="hl-n">x</span>' in html
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html
    assert "style=" not in html  # the page's CSP allows no inline styles


def test_remote_images_are_never_loaded_but_shown_as_links():
    html = render_markdown("![tracker](https://evil.example/pixel.png) [site](https://example.com) ![](/local.png)")
    tags = markup(html)
    assert "img" not in {name for name, _ in tags}
    links = [dict(attrs) for name, attrs in tags if name == "a"]
    assert links[0]["href"] == "https://evil.example/pixel.png" and links[0]["class"] == "image-link"
    assert "Image: tracker" in html and ">Image</a>" in html
    assert links[1] == {"href": "https://example.com", "rel": "noopener noreferrer nofollow"}


@pytest.mark.parametrize("source", ["![x](javascript:alert(1))", '![x](data:text/html,<script>alert(1)</script>)',
                                    '![a" onmouseover="alert(1)](https://e.example/i.png "t\" onclick=\"x")'])
def test_an_image_link_carries_no_script(source):
    for _, attrs in markup(render_markdown(source)):
        assert all(not name.startswith("on") for name, _ in attrs)
        assert all(not (value or "").startswith(("javascript", "data")) for _, value in attrs)


def test_code_fences_are_coloured_with_classes_only():
    html = render_markdown('```python\ndef f(x):\n    return "<b>"  # note\n```\n')
    classes = {dict(attrs).get("class") for name, attrs in markup(html) if name == "span"}
    assert {"hl-k", "hl-nf", "hl-s2", "hl-c1"} <= classes
    assert classes <= TOKEN_CLASSES
    assert "&lt;b&gt;" in html and "<b>" not in html and "style=" not in html


@pytest.mark.parametrize("source", ["```\nplain <i>\n```", "```no-such-language\nplain <i>\n```"])
def test_code_without_a_known_language_stays_plain(source):
    html = render_markdown(source)
    assert "<span" not in html and "plain &lt;i&gt;" in html


def test_spans_and_classes_from_the_text_never_pass():
    # Raw HTML is text; only the highlighter's own spans with its own classes survive the sanitizer.
    assert "<span" not in render_markdown('<span class="hl-k">x</span>')
    for name, attrs in markup(render_markdown('```html\n<span onclick="x" class="hl-k">\n```')):
        assert [n for n, _ in attrs] == (["class"] if name in ("span", "code") else [])


def test_every_class_of_the_stylesheet_is_one_the_highlighter_emits():
    css = (Path(vice_ai.__file__).parent / "static" / "css" / "highlight.css").read_text()
    used = set(re.findall(r"\.(hl-[\w-]+)", css))
    assert used and used <= TOKEN_CLASSES
    assert {"hl-k", "hl-s", "hl-c", "hl-nf", "hl-m"} <= used  # the common families are coloured


def test_the_render_cache_renders_a_text_once():
    cache = RenderCache(max_chars=200)
    first = cache.render("*one*")
    assert cache.render("*one*") == first == render_markdown("*one*") and cache.hits == 1
    for n in range(40):
        cache.render(f"text {n}")
    assert cache.render("*one*") == first and cache.hits == 1  # pushed out by newer ones, rendered again


def test_only_assistant_messages_carry_html():
    assert "html" in message_view({"role": "assistant", "content": "*hi*"})
    assert "html" not in message_view({"role": "user", "content": "*hi*"})
