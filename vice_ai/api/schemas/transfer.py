"""The import route's form and answer (api/transfer.py)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..declare import ConfigMaxLen, NotBlank, Schema
from .resources import DocumentOut


class ImportForm(Schema):
    """Form fields beside the file."""

    title: Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300), NotBlank()] | None = Field(
        None, description="The new document's title; absent: the file's own title, else its name")


class ImportedOut(DocumentOut):
    """The new document (the user owns it), what the file was, and how many chats came with it."""

    imported_from: Literal["markdown", "docx", "bundle"]
    sessions: int = Field(description="Chats imported with it (bundles only)")
