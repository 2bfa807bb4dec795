"""The data model: documents of sections, chat sessions of messages."""
from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from ..storage.files import FORMAT_VERSION, is_id

__all__ = ["FORMAT_VERSION", "is_id", "new_id", "now", "parse_time", "content_hash"]


SECTION_TYPES = ("header", "text", "reference")
SECTION_STATUSES = ("draft", "generated", "reviewed", "approved")
ROLES = ("system", "user", "assistant", "tool")
MESSAGE_STATUSES = ("complete", "streaming", "interrupted", "error", "stopped")


def now() -> str:
    """The current UTC time as an ISO 8601 string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(ts: str) -> datetime:
    """A time written by `now()` (or any ISO 8601 time with an offset) as an aware datetime."""
    return datetime.fromisoformat(ts)


def new_id() -> str:
    return str(uuid.uuid4())


def content_hash(text: str) -> str:
    """A short fingerprint of a section's text: two versions with the same text have the same one."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]




def _known(cls, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _json_copy(value: Any) -> Any:
    """A deep copy of a JSON-shaped value (as `asdict` makes it): containers copied, strings and numbers shared."""
    kind = type(value)
    if kind is str or value is None or kind is int or kind is bool or kind is float:
        return value
    if kind is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if kind is list:
        return [_json_copy(item) for item in value]
    if kind is tuple:
        return tuple(_json_copy(item) for item in value)
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else copy.deepcopy(value)


@dataclass
class Message:
    role: str
    content: str
    id: str = field(default_factory=new_id)
    parent_id: str | None = None
    created_at: str = field(default_factory=now)
    status: str = "complete"
    model: str | None = None
    section_version: int | None = None
    references: list[Any] = field(default_factory=list)
    # What the model was sent for this reply (assistant messages only).
    receipt: dict[str, Any] | None = None
    # {"reason": ..., "message": ..., "retryable": bool} when status is error/interrupted.
    error: dict[str, Any] | None = None
    # Function calling: assistant tool_calls, and a tool message's call id.
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    # Said beside the reply, never part of it (the offline assistant's "no model server" note).
    notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # asdict's result, without its generic walk (deepcopy per leaf): a message's fields are JSON values.
        return {name: _json_copy(getattr(self, name)) for name in MESSAGE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(**_known(cls, data))


MESSAGE_FIELDS = tuple(Message.__dataclass_fields__)  # in declaration order


@dataclass
class ChatSession:
    """A conversation tied to one section of one document."""

    id: str
    document_id: str
    section_id: str
    title: str = "New chat"
    messages: list[Message] = field(default_factory=list)
    context_documents: list[dict[str, Any]] = field(default_factory=list)
    references: list[Any] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    # Section edits proposed by the assistant: pending until the user accepts or rejects.
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    # Notification stream definitions (restarted after a server restart while active).
    streams: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    format_version: int = FORMAT_VERSION
    # The user who started the chat ("local" for files from before accounts, or local mode).
    owner: str = "local"
    # Archived chats are hidden from lists (still readable, never deleted); see auth/cleanup.py.
    archived: bool = False
    archived_at: str | None = None
    # The end of the branch shown and sent to the model (domain/tree.py); None: the last message.
    active_leaf: str | None = None

    def __post_init__(self) -> None:
        self._positions = {m.id: i for i, m in enumerate(self.messages)}
        # Each parent id with its children's ids, oldest first: pages of a long chat never scan all of it.
        self._children: dict[str | None, list[str]] = {}
        for m in self.messages:
            self._children.setdefault(m.parent_id, []).append(m.id)

    # Editable top-level fields, as journal "set" records carry them.
    SETTABLE = ("title", "context_documents", "references", "config", "variables", "suggestions", "streams",
                "archived", "archived_at", "active_leaf")

    def upsert_message(self, message: Message) -> None:
        """Append a message, or replace the one with the same id (a reply being finished).

        A new message that follows the active leaf becomes the active leaf (the branch grows).
        """
        pos = self._positions.get(message.id)
        if pos is None:
            self._positions[message.id] = len(self.messages)
            self.messages.append(message)
            self._children.setdefault(message.parent_id, []).append(message.id)
            if self.active_leaf is not None and message.parent_id == self.active_leaf:
                self.active_leaf = message.id
        else:
            old = self.messages[pos]
            self.messages[pos] = message
            if old.parent_id != message.parent_id:  # not done by the app; kept exact all the same
                self._children[old.parent_id].remove(message.id)
                kids = self._children.setdefault(message.parent_id, [])
                kids.append(message.id)
                kids.sort(key=self._positions.__getitem__)

    def child_ids(self, parent_id: str | None) -> list[str]:
        """The ids of the messages whose `parent_id` is `parent_id`, oldest first (do not change the list)."""
        return self._children.get(parent_id, [])

    def position(self, message_id: str) -> int:
        """Where a message stands in the order messages were written (KeyError for an unknown id)."""
        return self._positions[message_id]

    def get_message(self, message_id: str) -> Message | None:
        pos = self._positions.get(message_id)
        return None if pos is None else self.messages[pos]

    def last_message_id(self) -> str | None:
        return self.messages[-1].id if self.messages else None

    def summary(self) -> dict[str, Any]:
        keys = ("id", "document_id", "section_id", "title", "config", "created_at", "updated_at", "owner", "archived")
        data = {k: getattr(self, k) for k in keys}
        data["message_count"] = len(self.messages)
        return data

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatSession:
        data = _known(cls, data)
        data["messages"] = [Message.from_dict(m) for m in data.get("messages", [])]
        return cls(**data)


@dataclass
class Section:
    id: str
    document_id: str
    title: str
    content: str = ""
    type: str = "text"
    level: int = 1
    status: str = "draft"
    version: int = 1
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    # [{version, content, title, created_at, summary, source: {kind, message_id?, session_id?, user?}}]
    history: list[dict[str, Any]] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)

    def new_version(self, content: str, summary: str, source: dict[str, Any], status: str | None = None) -> None:
        """Change the text (and the status, if given): the version grows by one and the history keeps it.

        `source` is {"kind": "edit" | "revert" | "chat", ...}: a chat source names the
        `message_id` and `session_id` (and `suggestion_id` for an accepted proposal); `user` is the id of who
        made the change (domain/documents.py adds it; versions written before that have none).
        The entry keeps the status the section had until then (`previous_status`), so a revert to the
        version before brings that status back too.
        """
        previous_status = self.status
        self.content = content
        if status is not None:
            self.status = status
        self.version += 1
        self.updated_at = now()
        self.record_version(summary, source, previous_status)

    def record_version(self, summary: str, source: dict[str, Any], previous_status: str | None = None) -> None:
        """Keep the current text in the history (the first version, or after `new_version`), with the status."""
        entry = {
            "version": self.version,
            "content": self.content,
            "title": self.title,
            "created_at": self.updated_at,
            "summary": summary,
            "source": source,
            "status": self.status,
        }
        if previous_status is not None:
            entry["previous_status"] = previous_status
        self.history.append(entry)

    def public(self) -> dict[str, Any]:
        """The section as the API shows it (history has its own route): a shallow view, for serializing at once
        (a stored section is never edited in place: an edit works on a copy that replaces it)."""
        data = {name: getattr(self, name) for name in _SECTION_PUBLIC}
        data["content_hash"] = content_hash(self.content)
        return data

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Section:
        return cls(**_known(cls, data))


_SECTION_PUBLIC = tuple(f.name for f in fields(Section) if f.name != "history")


@dataclass
class Document:
    id: str
    title: str
    description: str = ""
    sections: list[Section] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    format_version: int = FORMAT_VERSION
    # The owning user's id ("local" for files from before accounts, or local mode).
    owner: str = "local"
    # [{"user": user id, "access": "read" | "edit"}]
    shared_with: list[dict[str, str]] = field(default_factory=list)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "section_count": len(self.sections),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "owner": self.owner,
            "shared_with": [dict(s) for s in self.shared_with],
        }

    def public(self) -> dict[str, Any]:
        data = self.summary()
        data["sections"] = [s.public() for s in self.sections]
        return data

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        data = _known(cls, data)
        data["sections"] = [Section.from_dict(s) for s in data.get("sections", [])]
        return cls(**data)
