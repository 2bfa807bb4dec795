"""Reading a DOCX file as an outline: "Title" and "Heading 1".."Heading 6" paragraphs become header sections.

A "Title" paragraph that opens the file names the document when the file's title property does not
(`outline.named_by_lead`), and is then no section.

Other paragraphs become text sections (quotes, in the "Quote" or "Intense Quote"
style, reference sections), in the order of the file: consecutive paragraphs
make one section, one paragraph per block; list items keep a "- " or "1. "
mark with their indent; tables become Markdown tables.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import docx
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph

from ..errors import BadRequest
from .outline import Parsed, SectionBuilder

_HEADING = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
_QUOTES = ("quote", "intense quote")
# What python-docx (zipfile, lxml) raises on a file that is not a readable DOCX.
_BROKEN = (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, IndexError, EOFError, SyntaxError,
           NotImplementedError, RuntimeError, OpcError)


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _heading_level(name: str) -> int | None:
    if name.lower() == "title":
        return 1
    found = _HEADING.fullmatch(name.strip())
    return min(6, int(found.group(1))) if found else None


def _list_mark(document: Any, paragraph: Paragraph, name: str, counters: dict[tuple[str, int], int]) -> str | None:
    """"- " or "N. " (indented by level) for a list item, None for an ordinary paragraph."""
    ppr = paragraph._p.pPr
    num: Any = ppr.numPr if ppr is not None else None
    if num is None and not name.lower().startswith("list"):
        return None
    level = int(num.ilvl.val) if num is not None and num.ilvl is not None else 0
    num_id = int(num.numId.val) if num is not None and num.numId is not None else -1
    numbered = "number" in name.lower() or _numbered(document, num_id, level)
    if not numbered:
        return "  " * level + "- "
    key = (str(num_id) if num_id >= 0 else name, level)
    counters[key] = counters.get(key, 0) + 1
    return "   " * level + f"{counters[key]}. "


def _numbered(document: Any, num_id: int, level: int) -> bool:
    """Whether the numbering definition of a list item counts (decimal, letters, ...) rather than bullets."""
    if num_id < 0:
        return False
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return False
    abstract = numbering.xpath(f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
    if not abstract:
        return False
    formats = numbering.xpath(f'./w:abstractNum[@w:abstractNumId="{int(abstract[0])}"]'
                              f'/w:lvl[@w:ilvl="{level}"]/w:numFmt/@w:val')
    return bool(formats) and formats[0] not in ("bullet", "none")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table_text(table: Table) -> str:
    """A table as a Markdown table (the first row as its head)."""
    rows = [[_cell(cell.text) for cell in row.cells] for row in table.rows]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _outline(document: Any) -> Parsed:
    builder = SectionBuilder()
    items: list[str] = []  # the list being read
    lead: str | None = None  # a "Title" paragraph that opens the file
    counters: dict[tuple[str, int], int] = {}

    def end_list() -> None:
        if items:
            builder.block("\n".join(items))
            items.clear()
            counters.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            end_list()
            builder.block(table_text(block))
            continue
        name, text = _style_name(block), block.text
        level = _heading_level(name)
        if level is not None:
            end_list()
            if text.strip():
                if name.lower() == "title" and builder.empty:
                    lead = " ".join(text.split())
                builder.heading(level, " ".join(text.split()))
            continue
        mark = _list_mark(document, block, name, counters)
        if mark is not None and text.strip():
            items.append(mark + text.strip())
            continue
        end_list()
        builder.block(text, "reference" if name.lower() in _QUOTES else "text")
    end_list()
    builder.flush()
    props = document.core_properties
    # A "Title" paragraph is not a heading of the body: when it names the document it is no section.
    return Parsed(builder.sections, title=props.title or None, description=props.comments or "", lead_title=lead,
                  untitled=builder.sections[1:] if lead else None)


def parse_docx(name: str, data: bytes) -> Parsed:
    """The outline of a DOCX file, or a 400 when python-docx cannot read it."""
    try:
        return _outline(docx.Document(io.BytesIO(data)))
    except _BROKEN:
        raise BadRequest(f"{name} is not a DOCX document that can be read (damaged, or not a Word file).",
                         field="file") from None
