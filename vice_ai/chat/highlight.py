"""Code blocks coloured by Pygments: class names only, never inline styles (the page's CSP allows none).

The colours live in `static/css/highlight.css`, a light and a dark palette for the
token families (keywords, strings, comments, ...); `TOKEN_CLASSES` is every class
this module can emit, which is also what the sanitizer lets through on a `span`.
"""
from __future__ import annotations

from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

PREFIX = "hl-"
TOKEN_CLASSES = frozenset(PREFIX + name for name in STANDARD_TYPES.values() if name)
# A longer block is shown as plain text: colouring it would slow every render of the reply.
MAX_CODE_CHARS = 40_000

_formatter = HtmlFormatter(nowrap=True, classprefix=PREFIX)


def highlight_fence(code: str, lang: str, _attrs: Any = None) -> str:
    """markdown-it's `highlight` hook: the coloured code, or "" to let markdown-it escape it as it is."""
    name = (lang or "").strip().lower()
    if not name or len(code) > MAX_CODE_CHARS:
        return ""
    try:
        lexer = get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return ""
    return str(highlight(code, lexer, _formatter))


def token_classes(value: str) -> str | None:
    """The classes of a `span` the sanitizer keeps: Pygments' token classes only."""
    kept = [c for c in value.split() if c in TOKEN_CLASSES]
    return " ".join(kept) if kept else None
