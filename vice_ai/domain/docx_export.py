"""Export of a document as DOCX (python-docx): section titles as headings at their levels, references as quotes.

The mapping is the one `importing` reads back: a section's title becomes a
"Heading <level>" paragraph (none for an empty title), its text one paragraph
per block (blank lines separate blocks, single line breaks stay breaks), in the
"Quote" style for reference sections. The document's title and description go
in the file's properties (title, comments; at most 255 characters each), not in the body, so an import of
the file gives the same sections and not an extra one.
"""
from __future__ import annotations

import io
import re

import docx

from .export import Export, _filename
from .models import Document
from .resources import load_document

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PROPERTY_CHARS = 255
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")
# XML 1.0 has no place for these (python-docx would fail on them): they are dropped from the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def blocks(text: str) -> list[str]:
    """A section's text as paragraphs: split at blank lines, each without its surrounding blank space."""
    text = _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [block.strip("\n") for block in _BLANK_LINES.split(text) if block.strip()]


def to_docx(doc: Document) -> bytes:
    """The document as the bytes of a .docx file."""
    out = docx.Document()
    props = out.core_properties
    # The file format holds at most 255 characters in a property.
    props.title = _NOT_XML.sub("", doc.title)[:PROPERTY_CHARS]
    props.comments = _NOT_XML.sub("", doc.description)[:PROPERTY_CHARS]
    for section in doc.sections:
        title = _NOT_XML.sub("", section.title).strip()
        if title:
            out.add_heading(title, level=min(6, max(1, section.level)))
        style = "Quote" if section.type == "reference" else None
        for block in blocks(section.content):
            out.add_paragraph(block, style=style)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def export_docx(doc_id: str) -> Export:
    """The document (read access) as a DOCX download."""
    doc = load_document(doc_id)
    return Export(_filename(doc, "docx"), DOCX_TYPE, to_docx(doc))
