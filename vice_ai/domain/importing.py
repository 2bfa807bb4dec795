"""Import of a file as a new document: Markdown, DOCX or a VICE AI bundle, told apart by their content.

Markdown and DOCX give a header section for every heading (at its level) and a
text section for the text between headings (at the level of the heading above
it; level 1 before the first one). Markdown headings are found by markdown-it's
parser, so a `#` line inside a code fence, an HTML block or a list stays text;
the text keeps its Markdown source. A heading that opens the file as its title
(`# Title`; a DOCX "Title" paragraph) names the document when no title is
given (`outline.named_by_lead`). A bundle (`bundle.py`) gives back the whole
document with its history and chats.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from markdown_it import MarkdownIt

from ..errors import BadRequest
from ..services import services
from . import bundle, docx_import
from .bundle_format import open_zip
from .documents import MAX_SECTIONS, create_document
from .models import Document
from .outline import Parsed, SectionBuilder, named_by_lead

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLD_WORD_MAGIC = b"\xd0\xcf\x11\xe0"
MAX_DESCRIPTION_CHARS = 10_000
_MD = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Imported:
    document: Document
    kind: str  # "markdown", "docx" or "bundle"
    sessions: int = 0


def parse_markdown(text: str) -> Parsed:
    """Sections of a Markdown text: ATX and setext headings at the top level become header sections.

    A level-1 heading that opens the file (blank lines aside) is its title (`lead_title`); when it is the
    file's only level-1 heading it is the title only: without it the headings under it move up a level.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    tokens = _MD.parse(text)
    builder = SectionBuilder()
    at = 0
    lead: str | None = None
    tops = 0  # level-1 headings
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or not token.map:
            continue
        start, end = token.map
        builder.block("\n".join(lines[at:start]))
        inline = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].type == "inline" else None
        level, title = int(token.tag[1:]), " ".join((inline.content if inline else "").split())
        if level == 1 and builder.empty and title:
            lead = title
        tops += level == 1
        builder.heading(level, title)
        at = end
    builder.block("\n".join(lines[at:]))
    builder.flush()
    if lead is None:
        return Parsed(builder.sections)
    rest = builder.sections[1:]
    untitled = [replace(s, level=max(1, s.level - 1)) for s in rest] if tops == 1 else None
    return Parsed(builder.sections, lead_title=lead, untitled=untitled)


def decode_text(name: str, data: bytes) -> str:
    """The bytes of a text file as str (UTF-8, with or without a byte order mark), or a 400."""
    if data.startswith(OLD_WORD_MAGIC):
        raise BadRequest(f"{name} is an old Word (.doc) file: save it as .docx and import that.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(f"{name} is not a Markdown (UTF-8 text), DOCX or bundle file.", field="file") from None
    if "\x00" in text:
        raise BadRequest(f"{name} is not a Markdown (UTF-8 text), DOCX or bundle file.", field="file")
    return text


def kind_of(name: str, data: bytes, config: Mapping[str, Any]) -> str:
    """"bundle", "docx" or "markdown", from the file's content (its name only explains a mistake)."""
    suffix = PurePosixPath(name.lower()).suffix
    if data.startswith(ZIP_MAGIC):
        names = set(open_zip(name, data, config).namelist())
        if "manifest.json" in names:
            return "bundle"
        if "word/document.xml" in names:
            return "docx"
        raise BadRequest(f"{name} is a zip file but neither a VICE AI bundle (no manifest.json) nor a DOCX "
                         "document.", field="file")
    if suffix in (".docx", ".zip"):
        what = "DOCX document" if suffix == ".docx" else "zip file"
        raise BadRequest(f"{name} is not a valid {what} (damaged or incomplete).", field="file")
    return "markdown"


def check_parsed(name: str, parsed: Parsed, config: Mapping[str, Any]) -> None:
    """The app's limits on what a file gives: the number of sections, the length of titles and texts."""
    if len(parsed.sections) > MAX_SECTIONS:
        raise BadRequest(f"{name} would make {len(parsed.sections)} sections; a document holds at most "
                         f"{MAX_SECTIONS}.", field="file", limit=MAX_SECTIONS)
    title_limit, text_limit = int(config["MAX_TITLE_CHARS"]), int(config["MAX_SECTION_CHARS"])
    titles = [parsed.title or ""] if parsed.title_in_text else []
    for title in titles + [section.title for section in parsed.sections]:
        if len(title) > title_limit:
            raise BadRequest(f"The heading \u201c{title[:60]}\u2026\u201d is longer than {title_limit} "
                             "characters.", field="file", limit=title_limit)
    heading = (parsed.title or "") if parsed.title_in_text else ""
    for section in parsed.sections:
        heading = section.title or heading
        if len(section.content) > text_limit:
            where = f"after the heading \u201c{heading[:60]}\u201d" if heading else "before the first heading"
            raise BadRequest(f"The text {where} is longer than {text_limit} characters (the limit of a section).",
                             field="file", limit=text_limit)


def _title(name: str, given: str | None, parsed: Parsed, limit: int) -> str:
    for candidate in (given, parsed.title, PurePosixPath(name).stem):
        if candidate and candidate.strip():
            return " ".join(candidate.split())[:limit]
    return "Imported document"


def import_file(name: str, data: bytes, title: str | None = None) -> Imported:
    """A new document (owned by the current user) from an uploaded Markdown, DOCX or bundle file."""
    config = services().config
    name = PurePosixPath(name.replace("\\", "/")).name or "file"
    kind = kind_of(name, data, config)
    if kind == "bundle":
        doc, sessions = bundle.import_bundle(name, data, title)
        return Imported(doc, kind, sessions)
    if kind == "docx":
        parsed = docx_import.parse_docx(name, data)
    else:
        parsed = parse_markdown(decode_text(name, data))
    if not (title and title.strip()):  # a title given with the file leaves the file's title heading a section
        parsed = named_by_lead(parsed)
    check_parsed(name, parsed, config)
    doc = create_document(_title(name, title, parsed, int(config["MAX_TITLE_CHARS"])),
                          parsed.description[:MAX_DESCRIPTION_CHARS], parsed.sections)
    return Imported(doc, kind)
