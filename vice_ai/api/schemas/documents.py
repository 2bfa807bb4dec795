"""Requests and answers of the document routes: documents, sections, shares, export, the pages and the server.

Request models refuse unknown fields (`Schema`). Where the API has always taken
`null` as "not given", the field says so (`X | None`): on create that means the
default shown, on PATCH "leave it as it is".
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ...domain.documents import MAX_SECTIONS
from ..declare import ConfigMaxLen, ErrorDetail, NotBlank, Schema
from .resources import Access, DocumentSummaryOut, Out, SectionOut, SectionStatus, SectionType, VersionOut

__all__ = [
    "NotBlank", "SectionFieldsIn", "NewSectionIn", "CreateDocumentIn", "UpdateDocumentIn", "CreateSectionIn",
    "UpdateSectionIn",
    "MoveSectionIn", "ShareIn", "DocumentExportQuery", "SignInQuery",
    "ListedDocumentOut", "DocumentListOut", "DocumentPageQuery", "DocumentDeletedOut", "SectionDeletedOut",
    "SectionVersionsOut",
    "SectionRevertedOut", "SectionConflictOut", "SectionInUseOut", "ShareOut", "SharesOut", "HealthOut", "ModelsOut",
]

MAX_DESCRIPTION_CHARS = 10_000
MAX_SUMMARY_CHARS = 500
MAX_VERSION = 2**53
SECTION_KEYS = ("title", "content", "type", "level")




Title = Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300)]
DocumentTitle = Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300), NotBlank()]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
SectionText = Annotated[str, ConfigMaxLen("MAX_SECTION_CHARS", 500_000)]
Level = Annotated[int, Field(ge=1, le=6)]
Position = Annotated[int, Field(ge=0, le=MAX_SECTIONS)]


def _null_is_default(model: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """`null` for a field with a default means the default."""
    if value is not None or info.field_name is None:
        return value
    return model.model_fields[info.field_name].get_default(call_default_factory=True)


# ---- requests ----

class SectionFieldsIn(Schema):
    """The fields a new section is given with (base of `NewSectionIn` and `CreateSectionIn`)."""

    title: Title = Field(description="May be empty")
    content: SectionText | None = Field("", description="Null or absent: empty")
    type: SectionType | None = Field("text", description="Null or absent: text")
    level: Level | None = Field(1, description="Heading level 1-6; null or absent: 1")

    @field_validator("content", "type", "level", mode="after")
    @classmethod
    def _defaults(cls, value: Any, info: ValidationInfo) -> Any:
        return _null_is_default(cls, value, info)


class NewSectionIn(SectionFieldsIn):
    """A section given with a new document."""

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        # Named at the section (`sections[0]`), as the API always has, not at the unknown key.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SECTION_KEYS))
            if unknown:
                raise PydanticCustomError(
                    "unknown_section_fields", "unknown field(s): {names} (a section has title, content, type, level)",
                    {"names": ", ".join(unknown)})
        return data


class CreateDocumentIn(Schema):
    """A new document, optionally with its first sections (in order)."""

    title: DocumentTitle
    description: Description | None = Field("", description="Null or absent: empty")
    sections: Annotated[list[NewSectionIn], Field(max_length=MAX_SECTIONS)] | None = Field(
        default_factory=list, description=f"At most {MAX_SECTIONS}; null or absent: none")

    @field_validator("description", "sections", mode="after")
    @classmethod
    def _defaults(cls, value: Any, info: ValidationInfo) -> Any:
        return _null_is_default(cls, value, info)


class UpdateDocumentIn(Schema):
    """What to change; a field that is absent or null stays as it is."""

    title: DocumentTitle | None = None
    description: Description | None = None


class CreateSectionIn(SectionFieldsIn):
    """A new section; `position` is its index (0 = first; absent or null: at the end)."""

    position: Position | None = Field(None, description="0 to the number of sections; absent or null: at the end")


class UpdateSectionIn(Schema):
    """A change to a section loaded at `version`; fields that are absent or null stay as they are.

    A different `content` makes a new version (with `summary` in its history); a stale `version` is a 409.
    """

    version: int = Field(ge=1, le=MAX_VERSION, description="The version the caller saw")
    title: Title | None = None
    content: SectionText | None = None
    type: SectionType | None = None
    level: Level | None = None
    status: SectionStatus | None = None
    summary: Annotated[str, Field(max_length=MAX_SUMMARY_CHARS)] | None = Field(
        None, description="Said in the history about a content change (default: Edited)")


class MoveSectionIn(Schema):
    """Give either `direction` (one step) or `position` (the new index), not both."""

    direction: Literal["up", "down"] | None = None
    position: Position | None = None


class ShareIn(Schema):
    """The access to give: read, or edit (write sections and chats)."""

    access: Literal["read", "edit"]


class DocumentExportQuery(Schema):
    format: Literal["markdown", "json", "docx", "bundle"] = Field(
        "markdown", description="markdown (readable), json (complete), docx (Word), bundle (zip to import elsewhere)")
    chats: bool = Field(False, description="Markdown: add the chat transcripts (json always has them)")


class SignInQuery(BaseModel):
    """The sign-in page's query. A page ignores parameters it does not know (links may carry some)."""

    model_config = ConfigDict(extra="ignore")

    next: str = Field("/", description="Where to go after signing in; only a path on this site is followed")


# ---- answers ----

class ListedDocumentOut(DocumentSummaryOut):
    access: Access


class DocumentListOut(Out):
    documents: list[ListedDocumentOut]
    has_more: bool = Field(description="More documents follow: ask again with `cursor=next_cursor`")
    next_cursor: str | None = Field(description="Where the next page starts (opaque); null on the last page")


class DocumentDeletedOut(Out):
    deleted: str = Field(description="The document's id")


class SectionDeletedOut(Out):
    deleted: str = Field(description="The section's id")


class SectionVersionsOut(Out):
    current_version: int
    versions: list[VersionOut]


class SectionRevertedOut(Out):
    """The section with the old text as its newest version, and the text that was replaced."""

    section: SectionOut
    previous_content: str


class SectionConflictDetail(ErrorDetail):
    current_version: int
    section: SectionOut


class SectionConflictOut(BaseModel):
    """The section moved on since `version`: its current version and text, to merge and retry."""

    error: SectionConflictDetail


class SectionInUseDetail(ErrorDetail):
    owners: list[str] = Field(description="The usernames whose chats are on the section")


class SectionInUseOut(BaseModel):
    """An editor (not the owner) asked to delete a section that holds other people's chats."""

    error: SectionInUseDetail


class ShareOut(Out):
    username: str
    access: Literal["read", "edit"]


class SharesOut(Out):
    """Who owns the document, who it is shared with, and the caller's own access."""

    owner: str | None
    shares: list[ShareOut]
    access: Access | None


class DocumentExportOut(Out):
    """The `format=json` download: the document with every section's history, and all its chats."""

    document: dict[str, Any]
    sessions: list[dict[str, Any]]


class HealthOut(Out):
    """`status` is `degraded` when the data folder takes no writes (`storage` says why); reads still work."""

    status: Literal["ok", "degraded"]
    offline: bool
    default_model: str
    read_only: bool = Field(description="True when changes are refused: the data folder is read-only or gone")
    storage: Literal["ok", "full", "read_only", "gone"] = Field(
        description="The data folder: `full` (the last write found no space; reads work, writes answer 507 until "
                    "one succeeds), `read_only` (writes answer 503), `gone` (deleted or replaced while the server "
                    "ran: writes answer 503 until it is restored and the server restarted)")
    storage_message: str | None = Field(description="What `storage` means for the people using the app, or null")
    redis: Literal["ok", "unreachable"] | None = Field(
        default=None, description="With `VICE_AI_REDIS_URL`: whether this process reaches Redis (`unreachable`: "
                                  "`status` is `degraded`, sends and live events answer 503); null without Redis")


class ModelsOut(Out):
    """`default` is the user's own choice when it is available, else the server's default."""

    default: str
    offline: bool
    models: list[str]


class DocumentPageQuery(Schema):
    """A page of the document list (`GET /api/documents`)."""

    limit: int = Field(50, ge=1, le=200, description="Documents per page (1-200)")
    cursor: str | None = Field(None, max_length=1000, description="`next_cursor` of the page before; absent: "
                               "the first page")
