"""Requests and answers of reviewing a change: word diffs, the review of a reply or proposed edit, reviewed saves."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..declare import Schema
from .documents import MAX_VERSION, SectionText
from .resources import Out, VersionSource

__all__ = ["ReviewedIn", "RevertIn", "ReviewIn", "DiffIn", "VersionDiffQuery", "DiffOp", "DiffOut", "ReviewOut",
           "VersionDiffOut"]


# ---- requests ----

class ReviewedIn(Schema):
    """What a review saves: the text the user made of the change, and the section version it was reviewed against."""

    content: SectionText | None = Field(
        None, description="The reviewed text, saved as it is (instead of the change's own text); needs `version`")
    version: int | None = Field(
        None, ge=1, le=MAX_VERSION,
        description="With `content`: the section version the review showed (409 if the section moved on)")


class RevertIn(ReviewedIn):
    """Send nothing to revert at once; `content` and `version` save what a review made of the revert."""


class ReviewIn(Schema):
    """Either a reply to apply (`message_id`, `mode`) or a proposed edit to accept (`suggestion_id`)."""

    message_id: str | None = Field(None, max_length=100)
    mode: Literal["replace", "append", "passage"] = "replace"
    suggestion_id: str | None = Field(None, max_length=100)


class DiffIn(Schema):
    old: SectionText
    new: SectionText


class VersionDiffQuery(Schema):
    against: int | None = Field(None, ge=1, le=MAX_VERSION,
                                description="The version to compare with (default: the one before)")


# ---- answers ----

class DiffOp(Out):
    """One run of the diff: `equal` text, or a change (`insert`, `delete`, `replace`) the user may accept or reject.

    The `old` parts of all ops join to the old text, the `new` parts to the new text.
    """

    op: Literal["equal", "insert", "delete", "replace"]
    old: str
    new: str


class DiffOut(Out):
    """A word-level diff (words, punctuation, whitespace and Markdown markup as tokens)."""

    old: str
    new: str
    ops: list[DiffOp]
    changes: int = Field(description="How many ops are changes")


class ReviewOut(DiffOut):
    """The section's text now (`old`, at `version`), the text the change makes of it (`new`) and the diff."""

    section_id: str
    version: int
    summary: str
    source: dict[str, Any] = Field(description="The history source the saved version will have")


class VersionDiffOut(DiffOut):
    """Version `version` compared with version `against` (0: nothing before the first version)."""

    version: int
    against: int
    summary: str
    source: VersionSource
