"""Declared query and answer of the reading route (api/reading.py)."""
from __future__ import annotations

from pydantic import Field

from ..declare import Schema
from .resources import Out, SectionStatus, SectionType


class RenderedQuery(Schema):
    section: str | None = Field(None, description="Only this section of the document.")


class RenderedSectionOut(Out):
    id: str
    version: int
    type: SectionType
    level: int
    title: str
    status: SectionStatus
    heading: int | None = Field(description="The HTML heading (2-6) a header section's title is shown as; "
                                            "null for text and reference sections")
    html: str = Field(description="The section's text as Markdown rendered to sanitized HTML")


class RenderedDocumentOut(Out):
    document_id: str
    title: str
    description: str
    sections: list[RenderedSectionOut]
