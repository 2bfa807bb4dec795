"""Markdown to safe HTML for replies: markdown-it-py renders, nh3 sanitizes.

Raw HTML in a reply or a document is shown as text (markdown-it's html option is
off), and whatever markup remains passes nh3's allow-list, so no script, event
handler or javascript: URL from a model ever reaches the page.
"""
from __future__ import annotations

from typing import Any

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable(
    "strikethrough"
)

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img",
}
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"alt", "title", "src"}, "th": {"class"}, "td": {"class"},
               "ol": {"start"}, "code": {"class"}}


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    # Remote images would leak what the user reads to a third party: never load them.
    if tag == "img" and attr == "src":
        return None
    if tag in ("th", "td") and value not in _ALIGN_CLASSES:
        return None
    if tag == "code" and not value.startswith("language-"):
        return None
    return value


def _align_as_class(tokens: list) -> list:
    """Table alignment as a class, not a style attribute (the page's CSP allows no inline styles)."""
    for token in tokens:
        style = token.attrGet("style") if token.type in ("th_open", "td_open") else None
        if isinstance(style, str) and style.startswith("text-align:"):
            token.attrs.pop("style")
            token.attrSet("class", "align-" + style.split(":", 1)[1])
    return tokens


def render_markdown(text: str) -> str:
    """Render Markdown (CommonMark with tables) to sanitized HTML."""
    html = _md.renderer.render(_align_as_class(_md.parse(text or "")), _md.options, {})
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
    )


def message_view(message: Any) -> dict[str, Any]:
    """A message as clients see it: its fields plus `html` for assistant replies."""
    data = message.to_dict() if hasattr(message, "to_dict") else dict(message)
    if data.get("role") == "assistant":
        data["html"] = render_markdown(data.get("content") or "")
    return data
