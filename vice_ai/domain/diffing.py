"""Word-level diffs of prose for reviewing an edit: which words and punctuation changed, not which lines.

`tokens` cuts a text into words, numbers, whitespace runs, punctuation and
Markdown markup (`**`, `#` at a line start, list markers, link targets) so a
change never splits a word and a heading's `#` is not glued to its first word.
`word_diff` compares paragraphs first (fast on long texts), then the tokens of
the paragraphs that differ, with the standard library's `difflib`, and answers
ops `{op, old, new}` whose `old` parts join to the old text and `new` parts to
the new one. Changes separated by whitespace alone are merged into one, so
"the quick" -> "a slow" is one change a reader can accept or reject.
"""
from __future__ import annotations

import difflib
import re
from typing import Any

__all__ = ["tokens", "word_diff", "apply_choices", "change_count"]

# Past this many tokens on a side, a changed block is one replacement (difflib is quadratic at worst).
MAX_BLOCK_TOKENS = 20_000
# Up to this size difflib matches every token; above it, very common tokens only extend matches.
EXACT_TOKENS = 3_000

_TOKEN = re.compile(
    r"""
    (?m:^[ \t]{0,3}(?:\#{1,6}|[-*+]|\d{1,9}[.)]|>)(?=[ \t]|$))  # a heading, list or quote marker at a line start
    | \]\([^()\s]*\)        # a link's target: ](https://...)
    | \*{1,3} | _{2,3} | ~~ | `+ | \.{3}   # emphasis, code, ellipsis
    | \d+(?:[.,:]\d+)+      # 40,000  3.5  10:30
    | \w+(?:['’]\w+)*       # words, with their apostrophes (don't, l’eau)
    | \r?\n                 # a line break
    | [^\S\r\n]+            # spaces and tabs
    | .                     # any other character: punctuation, a symbol
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str) -> list[str]:
    """The text cut into tokens; `"".join(tokens(text)) == text`."""
    return _TOKEN.findall(text)


def _paragraphs(text: str) -> list[str]:
    """Lines with their line ends; a blank line is its own item, so paragraphs align."""
    return text.splitlines(keepends=True)


def _matcher(a: list[str], b: list[str]) -> difflib.SequenceMatcher[str]:
    exact = max(len(a), len(b)) <= EXACT_TOKENS
    return difflib.SequenceMatcher(None, a, b, autojunk=not exact)


def _token_ops(old: str, new: str) -> list[dict[str, str]]:
    a, b = tokens(old), tokens(new)
    if max(len(a), len(b)) > MAX_BLOCK_TOKENS:
        return [_op("replace", old, new)]
    out = []
    for tag, i1, i2, j1, j2 in _matcher(a, b).get_opcodes():
        out.append(_op(tag, "".join(a[i1:i2]), "".join(b[j1:j2])))
    return out


def _op(tag: str, old: str, new: str) -> dict[str, str]:
    if tag == "equal":
        return {"op": "equal", "old": old, "new": new}
    if not old:
        return {"op": "insert", "old": "", "new": new}
    if not new:
        return {"op": "delete", "old": old, "new": ""}
    return {"op": "replace", "old": old, "new": new}


def _merge(ops: list[dict[str, str]]) -> list[dict[str, str]]:
    """Join neighbours of one kind, and changes that only whitespace separates."""
    out: list[dict[str, str]] = []
    for op in ops:
        if not op["old"] and not op["new"]:
            continue
        if out and (out[-1]["op"] == "equal") == (op["op"] == "equal"):
            last = out.pop()
            tag = "equal" if op["op"] == "equal" else "change"
            op = _op(tag, last["old"] + op["old"], last["new"] + op["new"])
        elif (len(out) >= 2 and op["op"] != "equal" and out[-2]["op"] != "equal"
              and not out[-1]["old"].strip() and "\n" not in out[-1]["old"]):
            space, first = out.pop(), out.pop()
            op = _op("change", first["old"] + space["old"] + op["old"], first["new"] + space["new"] + op["new"])
        out.append(op)
    return out


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """The ops that turn `old` into `new`: equal, insert, delete or replace, each with its `old` and `new` text."""
    a, b = _paragraphs(old), _paragraphs(new)
    ops: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            ops.append(_op("equal", before, after))
        else:
            ops.extend(_token_ops(before, after))
    return _merge(ops)


def change_count(ops: list[dict[str, Any]]) -> int:
    return sum(op["op"] != "equal" for op in ops)


def apply_choices(ops: list[dict[str, Any]], accepted: list[bool]) -> str:
    """The text with the accepted changes (one flag per change, in order) and the old text of the others."""
    out, index = [], 0
    for op in ops:
        if op["op"] == "equal":
            out.append(op["old"])
            continue
        out.append(op["new"] if index < len(accepted) and accepted[index] else op["old"])
        index += 1
    return "".join(out)
