"""Export of a document as readable Markdown (optionally with its chats) or as complete JSON."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..services import services
from .models import ChatSession, Document
from .resources import load_document
from .tree import active_path


@dataclass(frozen=True)
class Export:
    """A download: `content` is Markdown text, or for JSON the value to send."""

    filename: str
    media_type: str
    content: Any


def _filename(doc: Document, ext: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", doc.title).strip("-").lower()[:60] or "document"
    return f"{slug}.{ext}"


def _sessions(doc: Document) -> list[dict[str, Any]]:
    state = services().state
    found = [state.session_dict(sid) for s in doc.sections for sid in s.session_ids]
    return [s for s in found if s is not None]


# A reply that did not finish is kept; the transcript says so rather than pass it off as a whole answer.
UNFINISHED = {"stopped": "stopped", "interrupted": "interrupted", "error": "failed", "streaming": "still being written"}


def to_markdown(doc: Document, sessions: list[dict[str, Any]] | None = None) -> str:
    """The document as Markdown: a heading per titled section at its level, then its text."""
    out = [f"# {doc.title}", ""]
    if doc.description:
        out += [doc.description, ""]
    for section in doc.sections:
        if section.title.strip():  # an empty heading line would import back as one more (empty) section
            out += [f"{'#' * min(6, section.level + 1)} {section.title}", ""]
        if section.content.strip():
            body = section.content.strip()
            if section.type == "reference":
                body = "\n".join(f"> {line}" for line in body.splitlines())
            out += [body, ""]
    titles = {s.id: s.title for s in doc.sections}
    for session in sessions or []:
        out += [f"## Chat \u201c{session['title']}\u201d on \u201c{titles.get(session['section_id'], '?')}\u201d", ""]
        path = active_path(ChatSession.from_dict(session))  # the branch shown; the JSON export has them all
        if len(path) < len(session["messages"]):
            out += [f"_The active branch; {len(session['messages']) - len(path)} message(s) on other branches are in "
                    "the JSON export._", ""]
        for message in (m.to_dict() for m in path):
            if message["role"] in ("user", "assistant") and message["content"].strip():
                who = "You" if message["role"] == "user" else f"Assistant ({message.get('model') or 'model'})"
                head = f"**{who}** \u00b7 {message['created_at']}"
                if message["role"] == "assistant" and message.get("status") in UNFINISHED:
                    head += f" \u00b7 *Partial reply: {UNFINISHED[message['status']]}*"
                out += [head, "", message["content"].strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def export_document(doc_id: str, fmt: str, with_chats: bool) -> Export:
    """`fmt` "json": the document with its history and its sessions; "markdown": readable, chats if asked."""
    doc = load_document(doc_id)
    if fmt == "json":
        content = {"document": doc.to_dict(), "sessions": _sessions(doc)}
        return Export(_filename(doc, "json"), "application/json", content)
    return Export(_filename(doc, "md"), "text/markdown", to_markdown(doc, _sessions(doc) if with_chats else None))
