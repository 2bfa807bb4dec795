"""What changed in a document, as events on its channel: one observer of every saved change.

`DocumentFeed` is an `AppState` listener, so every way a document, section or
chat changes (an edit, a move, a revert, a reply written in, a share, a new or
deleted chat, a chat renamed) reaches it once, after it is on disk, under the
resource's lock, in order. For a document someone watches (a socket opened on
it: `watch`) it keeps a small outline of what it last saw and publishes the
difference to the document's channel of the hub:

- `document_updated` (title, description), `share_changed` (the shares moved; the page asks again what it may do),
- `section_created` (the section, its position, the order), `section_deleted`, `sections_reordered` (the order),
- `section_updated` (the section and which of content, title, type, level, status changed),
- `chat_created`, `chat_updated` (its title or archived flag), `chat_deleted`,
- `deleted` when the document goes (its sockets close).

Notifications reach the channel through `Hub.notify_document`. Nothing here
reads a file: the listener runs under the document's lock.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..domain.models import ChatSession, Document, Section
from .hub import Hub

if TYPE_CHECKING:
    from ..domain.state import AppState

# The section fields a page shows, and the name the `changed` list gives each.
_FIELDS = (("version", "content"), ("title", "title"), ("type", "type"), ("level", "level"), ("status", "status"))
# The fields of a chat's `set` record that its summary in a chat list shows.
_CHAT_FIELDS = {"title", "archived"}


@dataclass
class Outline:
    """What a page shows of a document, to tell what a save changed."""

    title: str
    description: str
    shares: list[tuple[str, str]]
    order: list[str]
    sections: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    chats: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: Document) -> Outline:
        return cls(doc.title, doc.description, sorted((s["user"], s["access"]) for s in doc.shared_with),
                   [s.id for s in doc.sections],
                   {s.id: tuple(getattr(s, name) for name, _ in _FIELDS) for s in doc.sections},
                   {s.id: list(s.session_ids) for s in doc.sections})


def changes(before: Outline, doc: Document) -> list[dict[str, Any]]:
    """The events that take a page showing `before` to `doc` (without seq: the hub numbers them)."""
    after = Outline.of(doc)
    events: list[dict[str, Any]] = []
    if (before.title, before.description) != (after.title, after.description):
        events.append({"type": "document_updated", "title": doc.title, "description": doc.description})
    if before.shares != after.shares:
        events.append({"type": "share_changed"})
    sections: dict[str, Section] = {s.id: s for s in doc.sections}
    for gone in (sid for sid in before.order if sid not in sections):
        events.append({"type": "section_deleted", "section_id": gone, "order": after.order})
    for position, section in enumerate(doc.sections):
        if section.id not in before.sections:
            events.append({"type": "section_created", "section": section.public(), "position": position,
                           "order": after.order})
            continue
        old, new = before.sections[section.id], after.sections[section.id]
        changed = [label for (_, label), a, b in zip(_FIELDS, old, new, strict=True) if a != b]
        if changed:
            events.append({"type": "section_updated", "section": section.public(), "changed": changed})
        for session_id in before.chats.get(section.id, []):
            if session_id not in section.session_ids:
                events.append({"type": "chat_deleted", "section_id": section.id, "session_id": session_id})
    kept_before = [sid for sid in before.order if sid in sections]
    kept_after = [sid for sid in after.order if sid in before.sections]
    if kept_before != kept_after:
        events.append({"type": "sections_reordered", "order": after.order})
    return events


class DocumentFeed:
    """Turns saved changes into events on the channels of watched documents."""

    def __init__(self, hub: Hub, state: AppState) -> None:
        self.hub = hub
        self.state = state
        self._seen: dict[str, Outline] = {}  # watched documents only
        self._lock = threading.Lock()

    @classmethod
    def attach(cls, hub: Hub, state: AppState) -> DocumentFeed:
        """A feed listening to `state`, asked by `hub` to watch each document a socket opens on."""
        feed = cls(hub, state)
        state.add_listener(feed.on_change)
        hub.set_watcher(feed.watch)
        return feed

    def watch(self, document_id: str) -> None:
        """Start telling a document's changes (idempotent): from what it is now."""
        if document_id in self._seen:
            return
        doc = self.state.get_document(document_id)
        if doc is None:
            return
        with self._lock:
            self._seen.setdefault(document_id, Outline.of(doc))

    def on_change(self, event: str, subject: Any) -> None:
        """One saved change (see `AppState.add_listener`)."""
        if event == "document_saved":
            self._document_saved(subject)
        elif event == "document_deleted":
            with self._lock:
                self._seen.pop(subject, None)
            self.hub.drop_document(subject)
        elif event == "session_created":
            self._chat(subject, "chat_created")
        elif event == "session_written":
            session, records = subject
            if any(r.get("op") == "set" and _CHAT_FIELDS & set(r.get("fields", {})) for r in records):
                self._chat(session, "chat_updated")

    def _document_saved(self, doc: Document) -> None:
        with self._lock:
            before = self._seen.get(doc.id)
            if before is None:
                return
            self._seen[doc.id] = Outline.of(doc)
        for item in changes(before, doc):
            self.hub.publish_document(doc.id, item)

    def _chat(self, session: ChatSession, kind: str) -> None:
        if session.document_id in self._seen:
            self.hub.publish_document(session.document_id, {
                "type": kind, "section_id": session.section_id, "session": session.summary()})
