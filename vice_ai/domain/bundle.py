"""A whole document as one file, and back: the document with its history, every chat with every message.

Export (read access): `manifest.json`, `document.json` (the stored document
without its owner and shares) and `sessions/<n>.json` (each chat as stored,
every message of every branch and every field, without its owner), as stored:
secrets were redacted before they were stored. A version whose chat has been
deleted since loses the link (`chat_deleted: true` in its source), so that every
id in a bundle points inside it.

Import: `bundle_format.read_bundle` validates the parts; here every link is
checked (a section's chats, a chat's section, a message's parent, the chat's
`active_leaf`, a suggestion's message, a version's chat, message and
suggestion), every id is replaced by a new one, the importing user owns all of
it, and the files are written chats first, then the document, under the new
document's locks: a failure removes what was written, so nothing is left.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import Any

from ..accounts.identity import current_user
from ..errors import BadRequest, StorageError
from ..housekeeping.redaction import redact, redact_json, redact_message, redact_variables
from ..services import services
from .bundle_format import FORMAT, VERSION, BundleDocument, BundleSession, open_zip, read_bundle
from .export import Export, _filename
from .models import ChatSession, Document, Section, new_id, now
from .resources import load_document

CHAT_KEYS = ("session_id", "message_id", "suggestion_id")
log = logging.getLogger(__name__)


# ---- export ----

def _unlink_deleted_chats(section: dict[str, Any], sessions: dict[str, dict[str, Any]]) -> None:
    for entry in section["history"]:
        source = entry.get("source") or {}
        session = sessions.get(source.get("session_id") or "")
        messages = {m["id"] for m in session["messages"]} if session else set()
        suggestions = {s["id"] for s in session["suggestions"]} if session else set()
        linked = session is not None and source.get("message_id") in messages | {None} and (
            source.get("suggestion_id") in suggestions | {None})
        if any(source.get(k) for k in CHAT_KEYS) and not linked:
            entry["source"] = {**{k: v for k, v in source.items() if k not in CHAT_KEYS}, "chat_deleted": True}


def bundle_bytes(doc: Document) -> bytes:
    """The bundle of a document the caller may read, as zip bytes."""
    state = services().state
    found = [state.session_dict(sid) for section in doc.sections for sid in section.session_ids]
    sessions = {s["id"]: s for s in found if s is not None}
    data = doc.to_dict()
    for key in ("owner", "shared_with"):
        data.pop(key, None)
    for section in data["sections"]:
        section["session_ids"] = [sid for sid in section["session_ids"] if sid in sessions]
        _unlink_deleted_chats(section, sessions)
    manifest = {"format": FORMAT, "version": VERSION, "exported_at": now(), "title": doc.title,
                "sessions": len(sessions), "messages": sum(len(s["messages"]) for s in sessions.values())}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        archive.writestr("document.json", json.dumps(data, ensure_ascii=False, indent=1))
        for n, session in enumerate(sessions.values(), start=1):
            session = {k: v for k, v in session.items() if k != "owner"}
            archive.writestr(f"sessions/{n}.json", json.dumps(session, ensure_ascii=False, indent=1))
    return buffer.getvalue()


def export_bundle(doc_id: str) -> Export:
    doc = load_document(doc_id)
    return Export(_filename(doc, "vice.zip"), "application/zip", bundle_bytes(doc))


# ---- import: links ----

def _refuse(where: str, what: str) -> BadRequest:
    return BadRequest(f"The bundle is inconsistent: {where} {what}.", field="file")


def check_links(document: BundleDocument, sessions: list[BundleSession]) -> None:
    """Every id in the bundle names something in it, once; else a 400 saying where."""
    sections = {s.id: s for s in document.sections}
    if len(sections) != len(document.sections):
        raise _refuse("document.json", "names a section id twice")
    by_id = {s.id: s for s in sessions}
    if len(by_id) != len(sessions):
        raise _refuse("the chats", "use a chat id twice")
    listed: dict[str, str] = {}
    for section in document.sections:
        for sid in section.session_ids:
            if sid not in by_id or sid in listed:
                raise _refuse(f"section \u201c{section.title}\u201d", f"lists the chat {sid} that is not in it "
                              "(or lists it twice)")
            listed[sid] = section.id
    for n, session in enumerate(sessions, start=1):
        where = f"sessions/{n}.json"
        if listed.get(session.id) != session.section_id:
            raise _refuse(where, "belongs to a section that does not list it")
        ids = {m.id for m in session.messages}
        if len(ids) != len(session.messages):
            raise _refuse(where, "names a message id twice")
        for m in session.messages:
            if m.parent_id is not None and m.parent_id not in ids:
                raise _refuse(where, f"has a message whose parent {m.parent_id} is not in the chat")
        if session.active_leaf is not None and session.active_leaf not in ids:
            raise _refuse(where, "names an active message that is not in the chat")
        for suggestion in session.suggestions:
            if suggestion.message_id is not None and suggestion.message_id not in ids:
                raise _refuse(where, "has a suggestion from a message that is not in the chat")
    messages = {s.id: {m.id for m in s.messages} for s in sessions}
    suggestions = {s.id: {x.id for x in s.suggestions} for s in sessions}
    for section in document.sections:
        for entry in section.history:
            source, where = entry.source, f"version {entry.version} of \u201c{section.title}\u201d"
            if source.session_id is None:
                if source.message_id or source.suggestion_id:
                    raise _refuse(where, "names a message but no chat")
                continue
            known = messages.get(source.session_id)
            if known is None or (source.message_id is not None and source.message_id not in known) or (
                    source.suggestion_id is not None and source.suggestion_id not in suggestions[source.session_id]):
                raise _refuse(where, "comes from a chat or message that is not in the bundle")


# ---- import: new ids ----

class Ids:
    """Old id -> new id, per kind (messages, suggestions and streams per chat)."""

    def __init__(self) -> None:
        self._map: dict[tuple[str, ...], str] = {}

    def __call__(self, *key: str) -> str:
        return self._map.setdefault(key, new_id())

    def maybe(self, value: str | None, *scope: str) -> str | None:
        return None if value is None else self(*scope, value)


def session_data(session: BundleSession, ids: Ids, doc_id: str, owner: str) -> dict[str, Any]:
    """A chat of the bundle as stored data under new ids (fields the store does not know are still there)."""
    data = session.model_dump()
    data["config"] = session.config.model_dump(exclude_unset=True) if session.config else {}  # only its own keys
    old = session.id
    data.update(id=ids("session", old), document_id=doc_id, section_id=ids("section", session.section_id),
                owner=owner, active_leaf=ids.maybe(session.active_leaf, "message", old))
    data.pop("format_version", None)
    for message in data["messages"]:
        message["id"] = ids("message", old, message["id"])
        message["parent_id"] = ids.maybe(message["parent_id"], "message", old)
        if message["status"] == "streaming":  # it was being written when exported: nothing will finish it here
            message["status"] = "interrupted"
            message["error"] = {"reason": "server_restart", "retryable": True,
                                "message": "This reply was being written when the chat was exported; what had "
                                           "arrived is kept."}
    for suggestion in data["suggestions"]:
        suggestion.update(id=ids("suggestion", old, suggestion["id"]),
                          message_id=ids.maybe(suggestion["message_id"], "message", old),
                          section_id=ids("section", session.section_id))
    for stream in data["streams"]:
        stream["id"] = new_id()
        if stream["status"] == "running":  # a stream starts only from a chat on this server
            stream.update(status="stopped", stopped_reason="imported")
    return data


def _redacted(session: ChatSession, section_text: str) -> ChatSession:
    """What a chat stores is redacted as the app redacts it when it stores it (a hand-made bundle may hold keys)."""
    session.messages = [redact_message(m) for m in session.messages]
    session.title = redact(session.title)
    if isinstance(session.config.get("system_prompt"), str):
        session.config["system_prompt"] = redact(session.config["system_prompt"])
    session.context_documents = redact_json(session.context_documents)
    session.variables = redact_variables(session.variables)
    session.suggestions = [{**s, "summary": redact(s["summary"]), "new_content": redact(s["new_content"],
                                                                                         keep=section_text)}
                           for s in session.suggestions]
    session.streams = [{**s, "goal": redact(s["goal"]), "last_notification": redact_json(s.get("last_notification"))}
                       for s in session.streams]
    return session


def _section(section: Any, ids: Ids, doc_id: str) -> Section:
    data = section.model_dump()
    data.update(id=ids("section", section.id), document_id=doc_id,
                session_ids=[ids("session", sid) for sid in section.session_ids])
    for entry, given in zip(data["history"], section.history, strict=True):
        source = entry["source"] = given.source.model_dump(exclude_unset=True)  # no keys the file did not have
        old = source.get("session_id")
        if old is not None:
            source["session_id"] = ids("session", old)
            for key, kind in (("message_id", "message"), ("suggestion_id", "suggestion")):
                if source.get(key) is not None:
                    source[key] = ids(kind, old, source[key])
    return Section.from_dict(data)


def build(document: BundleDocument, sessions: list[BundleSession], title: str | None,
          owner: str) -> tuple[Document, list[ChatSession]]:
    """The new document and chats, every id new and every link kept."""
    ids = Ids()
    doc = Document(id=new_id(), title=title or document.title, description=document.description,
                   created_at=document.created_at, owner=owner)
    doc.sections = [_section(s, ids, doc.id) for s in document.sections]
    texts = {s.id: s.content for s in document.sections}
    return doc, [_redacted(ChatSession.from_dict(session_data(s, ids, doc.id, owner)), texts[s.section_id])
                 for s in sessions]


# ---- import: writing ----

def _write(doc: Document, sessions: list[ChatSession]) -> None:
    state = services().state
    store = state.store
    written: list[str] = []
    with state.hold("documents", doc.id):
        try:
            for session in sessions:
                with state.hold("sessions", session.id):
                    written.append(session.id)
                    store.write_snapshot("sessions", session.id, session.to_dict())
            state.create_document(doc)
            for session in sessions:  # written beside the state's own paths: tell its listeners (search)
                state.tell("session_created", session)
        except BaseException:  # whatever stopped it, take back what was written, then let it go on
            for sid in written:
                try:
                    with state.hold("sessions", sid):
                        store.delete("sessions", sid)
                except (OSError, StorageError) as exc:  # an unlisted chat: the start-up repair removes it
                    log.warning("could not remove chat %s of a failed import: %s", sid, exc)
            store.drop_lock("documents", doc.id)
            raise


def import_bundle(name: str, data: bytes, title: str | None) -> tuple[Document, int]:
    """A new document with its chats from a bundle; returns it and how many chats came with it."""
    config = services().config
    document, sessions = read_bundle(name, open_zip(name, data, config), config)
    check_links(document, sessions)
    user = current_user()
    doc, chats = build(document, sessions, title, user.id if user is not None else "local")
    _write(doc, chats)
    return doc, len(chats)
