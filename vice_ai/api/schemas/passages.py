"""The selection reference a chat message may carry: the passage of its section it is about.

Its shape is checked here; the service checks it against the section
(`domain/passages.check_selection`: the version exists, the offsets are inside
that version's text, `text` is that slice).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..declare import ConfigMaxLen, Schema

# Offsets and versions are bounded so that no number is too large to store or compare.
MAX_OFFSET = 10_000_000
MAX_VERSION = 2**31 - 1

REFERENCES_HELP = ("At most one selection: the passage of the chat's section the message is about "
                   "(the model is told to work on that passage; a reply can then replace only it).")


class SelectionReferenceIn(Schema):
    """A passage of the chat's section: `text` is `content[start:end]` of `section_version` (code points)."""

    kind: Literal["selection"]
    section_id: Annotated[str, Field(min_length=1, max_length=100)]
    section_version: Annotated[int, Field(ge=1, le=MAX_VERSION)]
    start: Annotated[int, Field(ge=0, le=MAX_OFFSET)]
    end: Annotated[int, Field(ge=1, le=MAX_OFFSET)]
    text: Annotated[str, Field(min_length=1), ConfigMaxLen("MAX_SECTION_CHARS", 500_000)]


References = Annotated[list[SelectionReferenceIn], Field(max_length=1, description=REFERENCES_HELP)]
