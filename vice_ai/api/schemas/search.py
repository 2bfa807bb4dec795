"""Declared input and answer of the search route (api/search.py)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..declare import NotBlank, Schema
from .resources import Out, Role

MAX_QUERY_CHARS = 200
MAX_RESULTS = 100


class SearchQuery(Schema):
    q: Annotated[str, Field(max_length=MAX_QUERY_CHARS, description="What to find: every word must match; the last "
                                                                      "one also as the start of a word."), NotBlank()]
    document_id: str | None = Field(None, description="Search this document only.")
    limit: int = Field(20, ge=1, le=MAX_RESULTS, description="At most this many results.")


class SearchResultOut(Out):
    kind: Literal["document", "section", "chat", "message"]
    document_id: str
    section_id: str | None
    session_id: str | None
    message_id: str | None
    document_title: str
    section_title: str | None
    section_heading: str | None = Field(
        description="The section's title or, for an untitled one, that of the nearest titled section above it "
                    "(the heading it is under); null for a document or when there is none.")
    title: str
    role: Role | None
    archived: bool
    snippet: str
    matches: list[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        description="[start, end) of each match in `snippet`, counted in Unicode code points.")


class SearchOut(Out):
    results: list[SearchResultOut]
