"""A document to read: each section's text rendered to sanitized HTML, headings at their levels.

The page never renders Markdown itself: it shows what the server rendered and
sanitized (`chat/render.py`), remembered by the text's hash so reading a document
again costs no render.
"""
from __future__ import annotations

from typing import Any

from ..chat.render import render_cached
from .resources import load_document, load_section


def heading_level(section_type: str, level: int) -> int | None:
    """The HTML heading a section's title is shown as (the document's title is h1); None for no heading."""
    return min(6, level + 1) if section_type == "header" else None


def rendered_document(doc_id: str, section_id: str | None = None) -> dict[str, Any]:
    """The document (or one of its sections) with every section's text as sanitized HTML."""
    doc = load_document(doc_id)
    sections = doc.sections if section_id is None else [load_section(doc, section_id)]
    return {
        "document_id": doc.id,
        "title": doc.title,
        "description": doc.description,
        "sections": [{
            "id": s.id, "version": s.version, "type": s.type, "level": s.level, "title": s.title,
            "status": s.status, "heading": heading_level(s.type, s.level), "html": render_cached(s.content),
        } for s in sections],
    }
