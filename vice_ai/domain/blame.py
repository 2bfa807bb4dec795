"""Blame: which version last changed each paragraph (and sentence) of a section's text. Pure: no app, no I/O.

`blame(history)` walks a section's versions oldest to newest. Each version's
text is split into paragraphs (blank lines between them); difflib matches them
with the paragraphs of the version before, so a paragraph that is unchanged,
moved, or only had another paragraph inserted before it keeps the version that
wrote it. A changed paragraph is the new version's, and its sentences are
matched with those of the paragraph it replaced, so an edited sentence is
told apart from the ones around it that stayed. A revert that brings back the
text of an older version is the revert's change, and says where each
paragraph it brought back first came from (`origin`).

An attribution is an index into `history` (the versions list as stored).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends with . ! ? (and closing quotes or brackets) followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
# A changed paragraph is compared sentence by sentence with an old one at least this similar.
_SIMILAR = 0.5
# A changed paragraph that moved too is looked for among this many removed paragraphs of the whole text.
_FAR_CANDIDATES = 50


@dataclass
class Span:
    """A piece of text at [start, end) of a version's content, written by history entry `by`."""

    text: str
    start: int
    end: int
    by: int
    # Only for a reverted paragraph: the entry that wrote it before the revert brought it back.
    origin: int | None = None


@dataclass
class Paragraph(Span):
    sentences: list[Span] = field(default_factory=list)


def split_spans(text: str, breaks: re.Pattern[str], base: int = 0) -> list[tuple[str, int, int]]:
    """The non-blank pieces of `text` between matches of `breaks`, each with its offsets (plus `base`)."""
    spans = []
    at = 0
    for match in [*breaks.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[at:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            start = base + at + lead
            spans.append((stripped, start, start + len(stripped)))
        if match:
            at = match.end()
    return spans


def paragraphs_of(text: str) -> list[tuple[str, int, int]]:
    return split_spans(text, _PARAGRAPH_BREAK)


def sentences_of(text: str, base: int) -> list[tuple[str, int, int]]:
    return split_spans(text, _SENTENCE_END, base)


def _fresh(text: str, start: int, end: int, by: int) -> Paragraph:
    sentences = [Span(t, s, e, by) for t, s, e in sentences_of(text, start)]
    return Paragraph(text, start, end, by, sentences=sentences)


def _moved(old: Paragraph, start: int, end: int) -> Paragraph:
    """The same paragraph at another place: attributions kept, offsets moved."""
    shift = start - old.start
    sentences = [Span(s.text, s.start + shift, s.end + shift, s.by, s.origin) for s in old.sentences]
    return Paragraph(old.text, start, end, old.by, old.origin, sentences)


def _edited(old: Paragraph, text: str, start: int, end: int, by: int) -> Paragraph:
    """A changed paragraph: the new version's; sentences the old one had keep their attribution."""
    new = sentences_of(text, start)
    before = [s.text for s in old.sentences]
    after = [t for t, _, _ in new]
    kept: dict[int, Span] = {}
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                kept[j1 + k] = old.sentences[i1 + k]
    sentences = [Span(t, s, e, kept[j].by, kept[j].origin) if j in kept else Span(t, s, e, by)
                 for j, (t, s, e) in enumerate(new)]
    return Paragraph(text, start, end, by, sentences=sentences)


def _similar(old: list[Paragraph], text: str) -> Paragraph | None:
    """The old paragraph most like `text`, if it is like it enough to compare sentences."""
    best, score = None, _SIMILAR
    for candidate in old:
        matcher = difflib.SequenceMatcher(None, candidate.text, text, autojunk=False)
        if matcher.real_quick_ratio() < score or matcher.quick_ratio() < score:
            continue
        ratio = matcher.ratio()
        if ratio >= score:
            best, score = candidate, ratio
    return best


def step(old: list[Paragraph], content: str, by: int, restored: list[Paragraph] | None = None) -> list[Paragraph]:
    """The paragraphs of `content` (history entry `by`), carried over from the `old` ones where unchanged.

    `restored`: for a revert, the paragraphs of the version it went back to, where a paragraph the
    revert changed finds its `origin`.
    """
    new = paragraphs_of(content)
    matcher = difflib.SequenceMatcher(None, [p.text for p in old], [t for t, _, _ in new], autojunk=False)
    opcodes = matcher.get_opcodes()
    # Paragraphs that left their place: one that turns up elsewhere unchanged has only moved.
    removed = [p for tag, i1, i2, _j1, _j2 in opcodes if tag in ("replace", "delete") for p in old[i1:i2]]
    gone: dict[str, list[Paragraph]] = {}
    for p in removed:
        gone.setdefault(p.text, []).append(p)
    origins = {p.text: p for p in (restored or [])}
    used: set[int] = set()  # ids of old paragraphs already carried over as moved
    result: list[Paragraph] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            result.extend(_moved(old[i1 + k], *new[j1 + k][1:]) for k in range(j2 - j1))
            continue
        if tag == "delete":
            continue
        for text, start, end in new[j1:j2]:
            same = gone.get(text)
            if same:
                moved = same.pop(0)
                used.add(id(moved))
                result.append(_moved(moved, start, end))
                continue
            origin = origins.get(text)
            if origin is not None:
                para = _moved(origin, start, end)
                para.origin, para.by = origin.origin if origin.origin is not None else origin.by, by
                result.append(para)
                continue
            like = (_similar([p for p in old[i1:i2] if id(p) not in used], text)
                    or _similar([p for p in removed if id(p) not in used][:_FAR_CANDIDATES], text))
            result.append(_edited(like, text, start, end, by) if like else _fresh(text, start, end, by))
    return result


def blame(history: list[dict[str, Any]], upto: int | None = None) -> list[Paragraph]:
    """The paragraphs of the newest version (or of version `upto`), each with the entry that last changed it."""
    states: dict[int, list[Paragraph]] = {}
    current: list[Paragraph] = []
    for index, entry in enumerate(history):
        source = entry.get("source") or {}
        restored = None
        if source.get("kind") == "revert" and isinstance(source.get("from_version"), int):
            restored = states.get(source["from_version"])
        current = step(current, entry.get("content") or "", index, restored)
        version = entry.get("version")
        if isinstance(version, int):
            states[version] = current
            if version == upto:
                break
    return current
