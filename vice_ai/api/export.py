"""Export of a document as readable Markdown (optionally with its chats) or as complete JSON."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import BadRequest
from ..domain.models import Document
from ..domain.resources import load_document
from ..services import services

bp = Blueprint("export", __name__, url_prefix="/api/documents")

FORMATS = ("markdown", "json")


def _filename(doc: Document, ext: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", doc.title).strip("-").lower()[:60] or "document"
    return f"{slug}.{ext}"


def _sessions(doc: Document) -> list[dict[str, Any]]:
    state = services().state
    found = [state.session_dict(sid) for s in doc.sections for sid in s.session_ids]
    return [s for s in found if s is not None]


def to_markdown(doc: Document, sessions: list[dict[str, Any]] | None = None) -> str:
    """The document as Markdown: a heading per section at its level, then its text."""
    out = [f"# {doc.title}", ""]
    if doc.description:
        out += [doc.description, ""]
    for section in doc.sections:
        out += [f"{'#' * min(6, section.level + 1)} {section.title}", ""]
        if section.content.strip():
            body = section.content.strip()
            if section.type == "reference":
                body = "\n".join(f"> {line}" for line in body.splitlines())
            out += [body, ""]
    titles = {s.id: s.title for s in doc.sections}
    for session in sessions or []:
        out += [f"## Chat \u201c{session['title']}\u201d on \u201c{titles.get(session['section_id'], '?')}\u201d", ""]
        for message in session["messages"]:
            if message["role"] in ("user", "assistant") and message["content"].strip():
                who = "You" if message["role"] == "user" else f"Assistant ({message.get('model') or 'model'})"
                out += [f"**{who}** \u00b7 {message['created_at']}", "", message["content"].strip(), ""]
    return "\n".join(out).rstrip() + "\n"


@bp.get("/<doc_id>/export")
def export_document(doc_id: str):
    """?format=markdown|json (default markdown); &chats=1 adds the chat transcripts."""
    doc = load_document(doc_id)
    fmt = request.args.get("format", "markdown")
    if fmt not in FORMATS:
        raise BadRequest(f"'format' must be one of: {', '.join(FORMATS)}.", field="format")
    with_chats = request.args.get("chats", "0") in ("1", "true", "yes")
    sessions = _sessions(doc) if with_chats or fmt == "json" else None
    if fmt == "json":
        resp = jsonify({"document": doc.to_dict(), "sessions": sessions})
        resp.headers["Content-Disposition"] = f'attachment; filename="{_filename(doc, "json")}"'
        return resp
    return Response(to_markdown(doc, sessions), mimetype="text/markdown",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(doc, "md")}"'})
