"""The shapes of the app's resources as the API answers them: documents, sections, chats, messages, users.

Answers may carry fields added later (extra fields are allowed in answers), but
every field listed here is always there with this type.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Access = Literal["owner", "edit", "read"]
SectionType = Literal["header", "text", "reference"]
SectionStatus = Literal["draft", "generated", "reviewed", "approved"]
Role = Literal["system", "user", "assistant", "tool"]
MessageStatus = Literal["complete", "streaming", "interrupted", "error", "stopped"]


class Out(BaseModel):
    """Base for answers."""

    model_config = ConfigDict(extra="allow")


class Share(Out):
    user: str
    access: Literal["read", "edit"]


class DocumentSummaryOut(Out):
    id: str
    title: str
    description: str
    section_count: int
    created_at: str
    updated_at: str
    owner: str
    shared_with: list[Share]
    access: Access | None = None


class SectionOut(Out):
    id: str
    document_id: str
    title: str
    content: str
    type: SectionType
    level: int
    status: SectionStatus
    version: int
    created_at: str
    updated_at: str
    session_ids: list[str]
    content_hash: str  # a fingerprint of `content`: equal texts, equal hashes (stale notes compare it)


class DocumentOut(DocumentSummaryOut):
    sections: list[SectionOut]


class VersionSource(Out):
    kind: Literal["edit", "revert", "chat"]


class VersionOut(Out):
    version: int
    content: str
    title: str
    created_at: str
    summary: str
    source: VersionSource
    status: str | None = Field(None, description="The section's status with this version (older: none)")
    previous_status: str | None = Field(
        None, description="The status the section had until this version; a revert to the one before restores it")


class SelectionReferenceOut(Out):
    """The passage of its section a message is about (a reply carries its question's)."""

    kind: Literal["selection"]
    section_id: str
    section_version: int
    start: int
    end: int
    text: str


class MessageOut(Out):
    id: str
    parent_id: str | None
    role: Role
    content: str
    created_at: str
    status: MessageStatus
    model: str | None
    section_version: int | None
    references: list[SelectionReferenceOut]
    receipt: dict[str, Any] | None
    error: dict[str, Any] | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    notice: str | None = Field(None, description="Said beside the reply, not part of its text (the offline "
                               "assistant's note on connecting a model server)")
    html: str | None = None
    # In a chat's view (not in events): the messages with its parent and role, itself included, oldest first.
    sibling_ids: list[str] | None = None
    sibling_index: int | None = None


class SessionSummaryOut(Out):
    id: str
    document_id: str
    section_id: str
    title: str
    config: dict[str, Any]
    created_at: str
    updated_at: str
    owner: str
    archived: bool
    message_count: int


class SessionOut(Out):
    id: str
    document_id: str
    section_id: str
    title: str
    messages: list[MessageOut]
    context_documents: list[dict[str, Any]]
    references: list[Any]
    config: dict[str, Any]
    variables: dict[str, Any]
    suggestions: list[dict[str, Any]]
    streams: list[dict[str, Any]]
    created_at: str
    updated_at: str
    owner: str
    archived: bool
    archived_at: str | None
    section_version: int
    access: Literal["edit", "read"] | None
    generating: bool
    active_leaf: str | None
    active_path: list[str] = Field(description="The ids of this page's messages: the newest part of the branch "
                                   "shown, the whole active branch when it fits one page")
    shown_leaf: str | None = Field(description="The last message of the branch shown: `active_leaf`, or the "
                                   "newest descendant of the `leaf` asked for")
    has_more: bool = Field(description="Older messages of the branch remain: ask with `before` = the first "
                           "message of this page")
    message_count: int = Field(description="Messages in the chat, every branch")


class UserOut(Out):
    id: str
    username: str
    is_admin: bool
    created_at: str
    last_activity: str | None


class AppliedOut(Out):
    """A chat's text written into its section; undo = revert to `previous_version`."""

    section: SectionOut
    previous_content: str
    previous_version: int
