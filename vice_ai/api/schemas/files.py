"""Answers of the file routes: a file's metadata, a list of them, one with its extracted text."""
from __future__ import annotations

from typing import Literal

from .resources import Out


class FileOut(Out):
    """A file attached to a chat or a document: its name (as uploaded), what was read from it, its size."""

    id: str
    name: str
    kind: Literal["text", "markdown", "pdf", "docx"]
    scope: Literal["chat", "document"]
    owner_id: str
    size_bytes: int
    chars: int
    tokens: int
    pages: int | None
    truncated: bool
    created_at: str
    created_by: str | None


class FileListOut(Out):
    files: list[FileOut]


class FileTextOut(FileOut):
    """A file with the text extracted from it (what the model is given)."""

    text: str


class FileDeletedOut(Out):
    deleted: str
