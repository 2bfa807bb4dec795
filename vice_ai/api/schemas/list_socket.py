"""The document list's socket messages (`/ws/documents`), declared once like the document socket's.

`LIST_COMMANDS` and `LIST_EVENTS` map each `type` to its model; the served
OpenAPI document lists them under `x-websocket.lists`. Events about the list
carry its gap-free `seq`, the list's `user_id` and the server run's `epoch`;
`hello`, `sync`, `pong`, `restarting` and command errors are local.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..declare import Schema
from .document_socket import DocumentCommand
from .documents import DocumentListOut, ListedDocumentOut
from .resources import Out
from .websocket import Epoch, ErrorEvent, PingCommand, PongEvent, RestartingEvent, ResumeCommand

__all__ = ["LIST_COMMANDS", "LIST_EVENTS", "ListCommand"]

ListCommand = DocumentCommand  # the same two commands: `resume` and `ping`

LIST_COMMANDS: dict[str, type[Schema]] = {"resume": ResumeCommand, "ping": PingCommand}


class ListEvent(Out):
    """An event about the user's document list: numbered per user, sent to every list socket of theirs."""

    seq: int = Field(ge=1, description="Per user, gap-free; apply events in seq order, ignore repeats")
    user_id: str
    epoch: Epoch


class ListHelloEvent(Out):
    """Sent first on every list socket: the list's current seq."""

    type: Literal["hello"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The list's seq when the socket opened")
    epoch: Epoch
    user_id: str


class DocumentListedEvent(ListEvent):
    """A document the user sees now, as their list shows it: new, shared with them, renamed, changed, or their
    access to it changed (replace the row with this id, or add it)."""

    type: Literal["document_listed"]
    document: ListedDocumentOut


class DocumentUnlistedEvent(ListEvent):
    """A document no longer in the user's list: deleted, or its share with them taken away."""

    type: Literal["document_unlisted"]
    document_id: str


class ListErrorEvent(ErrorEvent):
    """The end of the sign-in (seq 0, then the socket closes) or a command's error (`local`)."""

    user_id: str | None = None


class ListSyncEvent(Out):
    """The list's first page, when `resume` asks for more than the replay buffer holds or for a seq of another
    epoch (load the list again; continue from this seq and epoch)."""

    type: Literal["sync"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The list's current seq")
    epoch: Epoch
    documents: DocumentListOut


LIST_EVENTS: dict[str, type[Out]] = {
    "hello": ListHelloEvent, "document_listed": DocumentListedEvent, "document_unlisted": DocumentUnlistedEvent,
    "error": ListErrorEvent, "sync": ListSyncEvent, "pong": PongEvent, "restarting": RestartingEvent,
}
