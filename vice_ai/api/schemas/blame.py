"""Declared answers of the provenance routes (api/blame.py): a section's blame, the versions a chat made."""
from __future__ import annotations

from pydantic import Field

from ..declare import Schema
from .resources import Out

MAX_VERSION = 2**53


class BlameQuery(Schema):
    version: int | None = Field(None, ge=1, le=MAX_VERSION,
                                description="Blame the text as it was at this version (default: the current one)")


class BlameSourceOut(Out):
    """What made a version. `kind`: created, edit, revert, reply (a chat reply applied), suggestion (a proposed
    edit accepted), or a kind added later as stored."""

    kind: str
    user: str | None = Field(None, description="The id of who made it; absent for versions older than that record")
    username: str | None = Field(description="Their username; null when unknown (older version, gone, local mode)")
    session_id: str | None = None
    message_id: str | None = None
    suggestion_id: str | None = None
    session_title: str | None = Field(None, description="The chat's title; null when it is deleted")
    from_version: int | None = Field(None, description="A revert: the version it went back to")


class BlameVersionOut(Out):
    version: int
    created_at: str
    summary: str
    source: BlameSourceOut


class BlameSentenceOut(Out):
    text: str
    start: int
    end: int
    version: int = Field(description="The version that wrote this sentence (see `versions`)")


class BlameParagraphOut(BlameVersionOut):
    """A paragraph at [start, end) of the text (Unicode code points) and the version that last changed it."""

    text: str
    start: int
    end: int
    origin: BlameVersionOut | None = Field(
        description="A paragraph a revert brought back: the version that had written it before")
    sentences: list[BlameSentenceOut]


class BlameOut(Out):
    document_id: str
    section_id: str
    current_version: int
    version: int = Field(description="The version blamed")
    paragraphs: list[BlameParagraphOut]
    versions: list[BlameVersionOut] = Field(description="Every version named by a paragraph or sentence, oldest first")


class ProducedVersionOut(BlameVersionOut):
    message_id: str
    paragraphs_now: int = Field(description="How many paragraphs of the current text still hold text from it")


class ProducedVersionsOut(Out):
    session_id: str
    document_id: str
    section_id: str
    current_version: int
    versions: list[ProducedVersionOut]
