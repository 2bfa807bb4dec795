"""Markdown to safe HTML for replies and sections: markdown-it-py renders, nh3 sanitizes.

Raw HTML in a reply or a document is shown as text (markdown-it's html option is
off), and whatever markup remains passes nh3's allow-list, so no script, event
handler or javascript: URL from a model ever reaches the page. Code fences with a
language are coloured by Pygments (class names only, see `highlight.py`); an image
becomes a link to it, never a loaded picture (a remote image would tell a third
party what the user reads).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from ..domain.models import MESSAGE_FIELDS
from .highlight import highlight_fence, token_classes
from .reply_cache import Owner, ReplyCache

_md = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": highlight_fence}
).enable("table").enable("strikethrough")

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "span",
}
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
_ATTRIBUTES = {"a": {"href", "title", "class"}, "th": {"class"}, "td": {"class"},
               "ol": {"start"}, "code": {"class"}, "span": {"class"}}
IMAGE_LINK_CLASS = "image-link"


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    if tag in ("th", "td") and value not in _ALIGN_CLASSES:
        return None
    if tag == "code" and not value.startswith("language-"):
        return None
    if tag == "a" and attr == "class" and value != IMAGE_LINK_CLASS:
        return None
    if tag == "span":
        return token_classes(value)
    return value


def _image_as_link(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    """`![alt](url)` as a link named after the image: the picture is never loaded by the page."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env).strip()
    src = str(token.attrGet("src") or "")
    label = f"Image: {alt}" if alt else "Image"
    return (f'<a class="{IMAGE_LINK_CLASS}" href="{escapeHtml(src)}" title="{escapeHtml(src)}">'
            f"{escapeHtml(label)}</a>")


_md.add_render_rule("image", _image_as_link)


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
    if not text:
        return ""  # what the renderer makes of nothing (a reply's first event has no text yet)
    html = _md.renderer.render(_align_as_class(_md.parse(text)), _md.options, {})
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
    )


class RenderCache:
    """Rendered HTML by the SHA-256 of its Markdown, newest kept, at most `max_chars` of HTML in all."""

    def __init__(self, max_chars: int = 8_000_000) -> None:
        self.max_chars = max_chars
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0

    def render(self, text: str) -> str:
        key = hashlib.sha256((text or "").encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        html = render_markdown(text)
        with self._lock:
            if key not in self._items:
                self._items[key] = html
                self._size += len(html)
            while self._size > self.max_chars and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)
        return html


# Replies' HTML, shared by every request: a final reply is rendered once (a streaming one each time it is asked).
# Its bound is set from the app's config (`configure_replies`), and its listener forgets deleted chats' replies.
replies = ReplyCache(render_markdown)


def configure_replies(max_bytes: int) -> ReplyCache:
    """Set the reply cache's bound (VICE_AI_REPLY_CACHE_BYTES); entries beyond it go at once."""
    replies.resize(max_bytes)
    return replies


def reply_html(message: Any, owner: Owner | None = None) -> str:
    """A reply's sanitized HTML: remembered (under its chat, `owner` = (document id, session id)) once the reply
    is final, rendered afresh while it streams."""
    content = message.content or ""
    if message.status == "streaming":
        return render_markdown(content)
    return replies.html(message.id, content, owner)



def page_message_view(message: Any, owner: Owner | None = None) -> dict[str, Any]:
    """`message_view` without the deep copy, for answers serialized at once (the message is never edited in
    place: a change replaces it)."""
    data = {name: getattr(message, name) for name in MESSAGE_FIELDS}
    if message.role == "assistant":
        data["html"] = reply_html(message, owner)
    return data


def message_view(message: Any, owner: Owner | None = None) -> dict[str, Any]:
    """A message as clients see it: its fields (a copy) plus `html` for assistant replies (remembered when
    `owner`, the chat's (document id, session id), is given)."""
    if hasattr(message, "to_dict"):
        data = message.to_dict()
        if data.get("role") == "assistant":
            data["html"] = reply_html(message, owner)
        return data
    data = dict(message)
    if data.get("role") == "assistant":
        data["html"] = render_markdown(data.get("content") or "")
    return data


# Sections' rendered text, shared by every request: the same text is rendered once.
_sections = RenderCache()


def render_cached(text: str) -> str:
    """`render_markdown`, remembered by the text's SHA-256 (a section read again costs no render)."""
    return _sections.render(text)
