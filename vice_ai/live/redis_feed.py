"""The document feed with Redis: the outline a page shows is kept in Redis, so every process tells changes right.

`DocumentFeed` keeps, per watched document, the outline it last saw in memory.
With several processes a change saved by process B to a document watched by a
socket on process A must be told too, and told once: the outline lives in Redis
(`vice:outline:<doc>`, made when a socket opens on the document in any process)
and the process that saves a change reads it, publishes the difference and
writes the new outline. Saves of one document hold its file lock in every
process, and the listener runs under it, so these read-diff-write steps never
interleave.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..domain.models import ChatSession, Document
from .document_feed import DocumentFeed, Outline, changes
from .redis_bus import PREFIX
from .redis_hub import RedisHub

if TYPE_CHECKING:
    from ..domain.state import AppState

log = logging.getLogger(__name__)


def outline_key(document_id: str) -> str:
    return f"{PREFIX}outline:{document_id}"


def to_json(outline: Outline) -> str:
    return json.dumps({"title": outline.title, "description": outline.description, "shares": outline.shares,
                       "order": outline.order, "sections": outline.sections, "chats": outline.chats})


def from_json(raw: str) -> Outline:
    data = json.loads(raw)
    return Outline(data["title"], data["description"], [tuple(s) for s in data["shares"]], list(data["order"]),
                   {sid: tuple(v) for sid, v in data["sections"].items()},
                   {sid: list(v) for sid, v in data["chats"].items()})


class RedisDocumentFeed(DocumentFeed):
    """Turns saved changes (in any process) into events on the shared channels of watched documents."""

    def __init__(self, hub: RedisHub, state: AppState) -> None:
        super().__init__(hub, state)
        self.bus = hub.bus

    def watch(self, document_id: str) -> None:
        doc = self.state.get_document(document_id)
        if doc is None:
            return
        client = self.bus.client
        if not client.set(outline_key(document_id), to_json(Outline.of(doc)), nx=True, ex=self.bus.ttl):
            client.expire(outline_key(document_id), self.bus.ttl)

    def on_change(self, event: str, subject: Any) -> None:
        try:
            if event == "document_deleted":
                self.bus.client.delete(outline_key(subject))
            super().on_change(event, subject)
        except Exception as exc:  # the save is done; its events wait for Redis (pages resync)
            log.error("document events not sent (%s): %s", event, exc)

    def _document_saved(self, doc: Document) -> None:
        raw = self.bus.client.get(outline_key(doc.id))
        if raw is None:
            return  # no socket on it anywhere
        self.bus.client.set(outline_key(doc.id), to_json(Outline.of(doc)), ex=self.bus.ttl)
        for item in changes(from_json(str(raw)), doc):
            self.hub.publish_document(doc.id, item)

    def _chat(self, session: ChatSession, kind: str) -> None:
        if self.bus.client.exists(outline_key(session.document_id)):
            self.hub.publish_document(session.document_id, {
                "type": kind, "section_id": session.section_id, "session": session.summary()})
