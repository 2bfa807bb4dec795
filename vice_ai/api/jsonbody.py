"""Parsing untrusted JSON (HTTP bodies and websocket commands) into plain Python values, or a 400.

Three checks the standard library leaves out: nesting is bounded before the parser
recurses (so no RecursionError), NaN/Infinity are refused, and no string or key
may hold a lone UTF-16 surrogate (a "\\ud800" escape), which no UTF-8 encoder
could write back out.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..errors import BadRequest

__all__ = ["parse_json", "format_path"]

# One token at a time: a whole string literal (its escapes skipped, possibly unterminated), or a bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes | str, *, max_depth: int = 32) -> Any:
    """The JSON value in `raw`; BadRequest (with `field` when known) if it is not acceptable."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"The JSON is not valid UTF-8 (bad byte at offset {exc.start}).") from None
    else:
        text = raw
    _check_depth(text, max_depth)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The JSON is not valid: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise BadRequest("The JSON has a number with too many digits.") from None
    _check_strings(value, ())
    return value


def format_path(loc: tuple[str | int, ...]) -> str:
    """('sections', 0, 'title') -> 'sections[0].title'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for match in _TOKEN.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise BadRequest(f"The JSON is nested more than {max_depth} levels deep.", limit=max_depth)
        elif char in "]}":
            depth = max(depth - 1, 0)  # an unmatched closer is left for the parser to report


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a valid JSON number.")


def _check_strings(value: Any, loc: tuple[str | int, ...]) -> None:
    """Refuse lone surrogates in any string or key; recursion is bounded by the depth check."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            _lone_surrogate(loc)
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                _lone_surrogate((*loc, shown), what="The field name")
            _check_strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, (*loc, index))


def _lone_surrogate(loc: tuple[str | int, ...], what: str = "") -> None:
    path = format_path(loc)
    subject = f"{what} '{path}'" if what else f"'{path}'" if path else "The JSON"
    details = {"field": path} if path else {}
    raise BadRequest(f"{subject} contains a lone UTF-16 surrogate, which is not valid Unicode.", **details)
