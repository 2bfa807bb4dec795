"""The document socket's messages (`/ws/documents/<id>`), declared once like the chat socket's.

`DOCUMENT_COMMANDS` and `DOCUMENT_EVENTS` map each `type` to its model; the
served OpenAPI document lists them under `x-websocket.documents`. Events about
the document carry its gap-free `seq`, its `document_id` and the server run's
`epoch`; `hello`, `sync`, `pong`, `restarting` and command errors are local.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from ..declare import Schema
from .resources import DocumentOut, Out, SectionOut, SessionSummaryOut
from .websocket import Epoch, ErrorEvent, PingCommand, PongEvent, RestartingEvent, ResumeCommand

__all__ = ["DOCUMENT_COMMANDS", "DOCUMENT_EVENTS", "DocumentCommand"]


class DocumentCommand(RootModel[Annotated[ResumeCommand | PingCommand, Field(discriminator="type")]]):
    """A command to a document socket, told apart by `type`."""


DOCUMENT_COMMANDS: dict[str, type[Schema]] = {"resume": ResumeCommand, "ping": PingCommand}


class DocumentEvent(Out):
    """An event about the document: numbered per document, sent to every socket open on it."""

    seq: int = Field(ge=1, description="Per document, gap-free; apply events in seq order, ignore repeats")
    document_id: str
    epoch: Epoch


Order = Annotated[list[str], Field(description="Every section id, in the document's order after the change")]


class DocumentHelloEvent(Out):
    """Sent first on every document socket: the document's current seq."""

    type: Literal["hello"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The document's seq when the socket opened")
    epoch: Epoch
    document_id: str


class DocumentUpdatedEvent(DocumentEvent):
    """The document's title or description changed."""

    type: Literal["document_updated"]
    title: str
    description: str


class ShareChangedEvent(DocumentEvent):
    """Who the document is shared with changed: ask again what you may do (`GET /api/documents/<id>`)."""

    type: Literal["share_changed"]


class SectionCreatedEvent(DocumentEvent):
    """A new section at `position`."""

    type: Literal["section_created"]
    section: SectionOut
    position: int = Field(ge=0)
    order: Order


class SectionUpdatedEvent(DocumentEvent):
    """A section's saved state; `changed` names what differs from the one before (content: a new version)."""

    type: Literal["section_updated"]
    section: SectionOut
    changed: list[Literal["content", "title", "type", "level", "status"]]


class SectionDeletedEvent(DocumentEvent):
    """A section was deleted, with its chats."""

    type: Literal["section_deleted"]
    section_id: str
    order: Order


class SectionsReorderedEvent(DocumentEvent):
    """The sections moved."""

    type: Literal["sections_reordered"]
    order: Order


class ChatCreatedEvent(DocumentEvent):
    """A new chat on a section (as the section's chat list shows it)."""

    type: Literal["chat_created"]
    section_id: str
    session: SessionSummaryOut


class ChatUpdatedEvent(DocumentEvent):
    """A chat was renamed (by hand or by its first message), archived or brought back."""

    type: Literal["chat_updated"]
    section_id: str
    session: SessionSummaryOut


class ChatDeletedEvent(DocumentEvent):
    """A chat was deleted."""

    type: Literal["chat_deleted"]
    section_id: str
    session_id: str


class DocumentNotificationEvent(DocumentEvent):
    """A notice about one of the document's sections: a reply finished, a notification stream spoke or stopped."""

    type: Literal["notification"]
    kind: str = Field(description="reply_finished, stream, ...")
    text: str
    section_id: str | None = None


class DocumentDeletedEvent(DocumentEvent):
    """The document was deleted; the socket closes."""

    type: Literal["deleted"]


class DocumentErrorEvent(ErrorEvent):
    """The end of access (seq 0, then the socket closes) or a command's error (`local`)."""

    document_id: str | None = None


class DocumentSyncEvent(Out):
    """The saved document, when `resume` asks for more than the replay buffer holds or for a seq of another
    epoch (replace the view; continue from this seq and epoch)."""

    type: Literal["sync"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The document's current seq")
    epoch: Epoch
    document: DocumentOut


DOCUMENT_EVENTS: dict[str, type[Out]] = {
    "hello": DocumentHelloEvent, "document_updated": DocumentUpdatedEvent, "share_changed": ShareChangedEvent,
    "section_created": SectionCreatedEvent, "section_updated": SectionUpdatedEvent,
    "section_deleted": SectionDeletedEvent, "sections_reordered": SectionsReorderedEvent,
    "chat_created": ChatCreatedEvent, "chat_updated": ChatUpdatedEvent, "chat_deleted": ChatDeletedEvent,
    "notification": DocumentNotificationEvent, "deleted": DocumentDeletedEvent, "error": DocumentErrorEvent,
    "sync": DocumentSyncEvent, "pong": PongEvent, "restarting": RestartingEvent,
}
