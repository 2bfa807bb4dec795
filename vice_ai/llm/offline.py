"""The built-in offline assistant: answers from the section text, no model server needed.

Deterministic and fast, so it also serves tests and a first run.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from .base import ChatRequest, Chunk, Finish, TextDelta

OFFLINE_MODEL = "offline-assistant"

# Words in any script; "40,000" and "3.5" count as one word each.
_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w[\w'\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Markdown that starts a line but is not part of what it says: bullets, numbers, quotes.
_LINE_MARK = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?")
_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its me my of on or our "
    "please section should so that the their this to was what when which who why will with you your".split()
)

# Said beside every offline reply (the message's `notice`), never in its text: applying a
# reply to a section must not paste this into the document.
NOTICE = (
    "This is the offline assistant: no model server is configured. Set OPENAI_API_KEY "
    "and/or OPENAI_BASE_URL (any OpenAI-compatible server) and restart to chat with a real model."
)


def _term(word: str) -> str:
    # A crude plural fold, so "risks" finds "risk" (no stemmer dependency for a fallback).
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _terms(text: str) -> set[str]:
    return {_term(w) for w in _WORD.findall(text) if w.lower() not in _STOP}


def _sentences(text: str) -> list[str]:
    """Sentences of the section: each line on its own (list items, headings aside), split at . ! ?"""
    found: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue  # a heading names a part; it is not a sentence to quote
        line = _LINE_MARK.sub("", line, count=1)
        found.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return found


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def answer(question: str, section_title: str, section_text: str) -> str:
    """Compose a reply from the section: its size, its gist, the sentences nearest the question."""
    words = len(_WORD.findall(section_text))
    sentences = _sentences(section_text)
    title = section_title or "this section"
    if not section_text.strip():
        return (
            f"**{title}** is empty so far. Write a first draft and I can count, summarise "
            "and quote it for you."
        )
    if not sentences:
        return (
            f"**{title}** has {_count(words, 'word')} but only headings so far, nothing to quote yet."
        )
    wanted = _terms(question)
    scored = sorted(
        ((len(wanted & _terms(s)), -i, s) for i, s in enumerate(sentences)),
        reverse=True,
    )
    relevant = [s for score, _, s in scored if score > 0][:3]
    parts = [f"**{title}** has {_count(words, 'word')} in {_count(len(sentences), 'sentence')}."]
    parts.append(f"It opens with: \u201c{sentences[0]}\u201d")
    if relevant:
        # One Markdown list, best match first.
        parts.append("The sentences closest to your question:\n\n" + "\n".join(f"- {s}" for s in relevant))
    else:
        parts.append("No sentence in the section shares words with your question.")
    return "\n\n".join(parts)


class OfflineBackend:
    """A backend with one model that never leaves the machine."""

    offline = True
    notice = NOTICE

    def models(self) -> list[str]:
        return [OFFLINE_MODEL]

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Chunk]:
        question = next(
            (m["content"] for m in reversed(request.messages) if m.get("role") == "user"), ""
        )
        reply = answer(str(question), request.section_title, request.section_text)
        # Stream word by word, as a real server would.
        for piece in re.findall(r"\S+\s*|\s+", reply):
            if cancel.is_set():
                return
            yield TextDelta(piece)
        yield Finish("stop")
