"""Text out of an uploaded file: plain text, Markdown, PDF (pypdf) and DOCX (python-docx).

The kind is found from the bytes, not the name (a name only says text or Markdown, and
explains a mismatch). Anything else, and every file the parsers cannot read (broken,
encrypted, a scan with no text), is a `BadRequest` with a sentence the user can act on.
Extracted text is capped in pages and characters (`truncated` says when the cap cut it).
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass

from ..errors import BadRequest

log = logging.getLogger(__name__)

ACCEPTED = "plain text (.txt), Markdown (.md), PDF (.pdf) or Word (.docx)"
# A DOCX whose parts unpack to more than this is refused (a zip bomb would exhaust memory).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Control characters other than tab, newlines and form feed: a few are tolerated in text, many mean binary.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")


@dataclass(frozen=True)
class Extracted:
    kind: str  # "text", "markdown", "pdf" or "docx"
    text: str
    pages: int | None  # PDF pages in the file (None for other kinds)
    truncated: bool  # a page or character cap cut the text


def extract(data: bytes, filename: str, *, max_pages: int, max_chars: int) -> Extracted:
    """The text of an uploaded file, or a BadRequest saying why there is none."""
    if not data.strip():
        raise BadRequest("The file is empty.", field="file")
    lower = filename.lower()
    if b"%PDF-" in data[:1024]:
        kind, text, pages, cut = "pdf", *_pdf(data, max_pages)
    elif data[:4] == b"PK\x03\x04":
        kind, text, pages, cut = "docx", _docx(data), None, False
    else:
        if lower.endswith(".pdf"):
            raise BadRequest("The file is named .pdf but is not a PDF (it does not start with %PDF-).", field="file")
        if lower.endswith(".docx"):
            raise BadRequest("The file is named .docx but is not a Word document.", field="file")
        kind = "markdown" if lower.endswith(MARKDOWN_SUFFIXES) else "text"
        text, pages, cut = _text(data), None, False
    text = _tidy(text)
    if not text.strip():
        what = {"pdf": "The PDF has no text to read (a scanned PDF holds only images).",
                "docx": "The Word document has no text."}
        raise BadRequest(what.get(kind, "The file is empty."), field="file")
    if len(text) > max_chars:
        text, cut = text[:max_chars], True
    return Extracted(kind, text, pages, cut)


def _tidy(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _text(data: bytes) -> str:
    refused = f"This file is not text and not a file type this app reads; upload {ACCEPTED}."
    if b"\x00" in data[:8192]:
        raise BadRequest(refused, field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(f"The file is not UTF-8 text; upload {ACCEPTED}.", field="file") from None
    if len(_CONTROL.findall(text[:65536])) > max(8, len(text[:65536]) // 100):
        raise BadRequest(refused, field="file")
    return text


def _pdf(data: bytes, max_pages: int) -> tuple[str, int, bool]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are encrypted only against changes, with an empty password to open them.
            try:
                opened = bool(reader.decrypt(""))
            except (DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise BadRequest("The PDF is protected by a password; remove the protection and upload it again.",
                                 field="file")
        total = len(reader.pages)
        texts = [page.extract_text() or "" for page in reader.pages[:max_pages]]
    except BadRequest:
        raise
    except FileNotDecryptedError:
        raise BadRequest("The PDF is protected by a password; remove the protection and upload it again.",
                         field="file") from None
    except (PdfReadError, RecursionError, MemoryError) as exc:
        raise BadRequest(f"The PDF cannot be read: it is damaged or incomplete ({_short(exc)}).",
                         field="file") from None
    except Exception as exc:  # noqa: BLE001 - untrusted bytes into a third-party parser: any of its faults is the file's
        log.info("pypdf failed on an upload: %r", exc)
        raise BadRequest("The PDF cannot be read: it is damaged or incomplete.", field="file") from None
    return "\n\n".join(t.strip() for t in texts if t.strip()), total, total > max_pages


def _docx(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BadRequest("The file looks like a ZIP archive but is damaged.", field="file") from None
    if "word/document.xml" not in names:
        raise BadRequest(f"The file is a ZIP archive, not a Word document; upload {ACCEPTED}.", field="file")
    if unpacked > MAX_UNPACKED_BYTES:
        raise BadRequest("The Word document unpacks to more than 100 MB; it is refused.", field="file")
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            else:
                blocks.append(block.text)
    except Exception as exc:  # noqa: BLE001 - untrusted bytes into a third-party parser: any of its faults is the file's
        log.info("python-docx failed on an upload: %r", exc)
        raise BadRequest("The Word document cannot be read: it is damaged or not a .docx file.", field="file") from None
    return "\n\n".join(b.strip() for b in blocks if b.strip())


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
