"""`app_state`: documents and chat sessions in memory, a lock per resource, files behind them.

Every change goes: thread lock of the resource -> its file lock -> catch up with
the files (another process may have written) -> write to disk -> apply in memory.
So what is in memory is never ahead of what is on disk, and two processes
sharing the data folder never lose each other's updates. Lock order is always
document before session, and no lock is held during model calls or socket sends.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .errors import NotFound
from .models import ChatSession, Document, Message, is_id, new_id, now
from .store import CorruptFile, Store

log = logging.getLogger(__name__)

# What building a model from parsed JSON of the wrong shape raises.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


@dataclass
class _DiskMark:
    """How far the in-memory copy of a session has read its files."""

    key: tuple[int, int, int]
    offset: int = 0
    seq: int = 0


class AppState:
    """Holds every loaded document and chat session, each behind its own lock."""

    def __init__(self, store: Store, compact_bytes: int = 256 * 1024) -> None:
        self.store = store
        self.compact_bytes = compact_bytes
        self.documents: dict[str, Document] = {}
        self.chat_sessions: dict[str, ChatSession] = {}
        self.locks = {"documents": threading.Lock(), "chat_sessions": threading.Lock()}
        self._resource_locks: dict[tuple[str, str], threading.RLock] = {}
        self._resource_locks_guard = threading.Lock()
        self._doc_keys: dict[str, tuple[int, int, int]] = {}
        self._session_marks: dict[str, _DiskMark] = {}

    # -- locking --------------------------------------------------------------------
    def resource_lock(self, kind: str, item_id: str) -> threading.RLock:
        with self._resource_locks_guard:
            lock = self._resource_locks.get((kind, item_id))
            if lock is None:
                lock = self._resource_locks[(kind, item_id)] = threading.RLock()
            return lock

    @contextmanager
    def _exclusive(self, kind: str, item_id: str) -> Iterator[None]:
        with self.resource_lock(kind, item_id), self.store.lock(kind, item_id):
            yield

    # -- documents ------------------------------------------------------------------
    def _refresh_document(self, doc_id: str) -> Document | None:
        key = self.store.snapshot_key("documents", doc_id)
        cached = self.documents.get(doc_id)
        if key is None:
            self._forget_document(doc_id)
            return None
        if cached is not None and self._doc_keys.get(doc_id) == key:
            return cached
        try:
            snap = self.store.read_snapshot("documents", doc_id)
        except CorruptFile as exc:
            self.store.quarantine("documents", doc_id, str(exc))
            self._forget_document(doc_id)
            return None
        if snap is None:
            return None
        try:
            doc = Document.from_dict(snap.data)
        except _SHAPE_ERRORS as exc:
            # Valid JSON of the wrong shape is as corrupt as a torn file.
            self.store.quarantine("documents", doc_id, f"{doc_id}.json: bad document data ({exc!r})")
            self._forget_document(doc_id)
            return None
        with self.locks["documents"]:
            self.documents[doc_id] = doc
        self._doc_keys[doc_id] = snap.key
        return doc

    def _forget_document(self, doc_id: str) -> None:
        with self.locks["documents"]:
            self.documents.pop(doc_id, None)
        self._doc_keys.pop(doc_id, None)

    def _save_document(self, doc: Document) -> None:
        self._doc_keys[doc.id] = self.store.write_snapshot("documents", doc.id, doc.to_dict())
        with self.locks["documents"]:
            self.documents[doc.id] = doc

    def get_document(self, doc_id: str) -> Document | None:
        """The current document, or None; reads the file only when it changed."""
        if not is_id(doc_id):
            return None
        with self._exclusive("documents", doc_id):
            return self._refresh_document(doc_id)

    def list_documents(self) -> list[Document]:
        docs = [self.get_document(doc_id) for doc_id in self.store.ids("documents")]
        return [d for d in docs if d is not None]

    def create_document(self, doc: Document) -> Document:
        with self._exclusive("documents", doc.id):
            self._save_document(doc)
        return doc

    @contextmanager
    def edit_document(self, doc_id: str) -> Iterator[Document]:
        """Yield a copy of the fresh document under its locks; saved on normal exit, dropped on error."""
        if not is_id(doc_id):
            raise NotFound("Document not found.")
        with self._exclusive("documents", doc_id):
            current = self._refresh_document(doc_id)
            if current is None:
                raise NotFound("Document not found.")
            # Edit a copy: readers keep a consistent document, and an error changes nothing.
            doc = Document.from_dict(current.to_dict())
            yield doc
            doc.updated_at = now()
            self._save_document(doc)

    def delete_document(self, doc_id: str) -> Document:
        """Delete a document, then every chat session of its sections."""
        if not is_id(doc_id):
            raise NotFound("Document not found.")
        with self._exclusive("documents", doc_id):
            doc = self._refresh_document(doc_id)
            if doc is None:
                raise NotFound("Document not found.")
            self.store.delete("documents", doc_id)
            self._forget_document(doc_id)
        for section in doc.sections:
            for session_id in section.session_ids:
                self._delete_session_files(session_id)
        return doc

    # -- chat sessions --------------------------------------------------------------
    def _refresh_session(self, session_id: str) -> ChatSession | None:
        key = self.store.snapshot_key("sessions", session_id)
        if key is None:
            self._forget_session(session_id)
            return None
        session = self.chat_sessions.get(session_id)
        mark = self._session_marks.get(session_id)
        size = self.store.journal_size("sessions", session_id)
        try:
            if session is None or mark is None or mark.key != key or size < mark.offset:
                snap = self.store.read_snapshot("sessions", session_id)
                if snap is None:
                    return None
                session = ChatSession.from_dict(snap.data)
                mark = _DiskMark(snap.key, 0, snap.journal_base)
            if size > mark.offset:
                records, mark.offset = self.store.read_journal("sessions", session_id, mark.offset)
                for record in records:
                    if record["seq"] > mark.seq:
                        _apply(session, record)
                        mark.seq = record["seq"]
        except (CorruptFile, *_SHAPE_ERRORS) as exc:
            self.store.quarantine("sessions", session_id, str(exc) if isinstance(exc, CorruptFile) else repr(exc))
            self._forget_session(session_id)
            return None
        with self.locks["chat_sessions"]:
            self.chat_sessions[session_id] = session
        self._session_marks[session_id] = mark
        return session

    def _forget_session(self, session_id: str) -> None:
        with self.locks["chat_sessions"]:
            self.chat_sessions.pop(session_id, None)
        self._session_marks.pop(session_id, None)

    def _write_records(self, session: ChatSession, records: list[dict[str, Any]]) -> None:
        """Journal records durably, then apply them; compact when the journal grew large."""
        mark = self._session_marks[session.id]
        for i, record in enumerate(records, start=1):
            record["seq"] = mark.seq + i
            record.setdefault("at", now())
        mark.offset = self.store.append_journal("sessions", session.id, records)
        for record in records:
            _apply(session, record)
        mark.seq = records[-1]["seq"]
        if mark.offset > max(self.compact_bytes, mark.key[2]):
            mark.key = self.store.write_snapshot("sessions", session.id, session.to_dict(), journal_base=mark.seq)
            self.store.reset_journal("sessions", session.id)
            mark.offset = 0

    def get_chat_session(self, session_id: str) -> ChatSession | None:
        """The session from memory (caught up with its files), or loaded from its file."""
        if not is_id(session_id):
            return None
        with self._exclusive("sessions", session_id):
            return self._refresh_session(session_id)

    def session_dict(self, session_id: str) -> dict[str, Any] | None:
        """A consistent copy of a session, taken under its lock."""
        if not is_id(session_id):
            return None
        with self._exclusive("sessions", session_id):
            session = self._refresh_session(session_id)
            return None if session is None else session.to_dict()

    def create_chat_session(self, section_id: str, document_id: str, **fields: Any) -> ChatSession:
        """Create a session for a section: new uuid, stored under the lock, saved at once."""
        session = ChatSession(new_id(), document_id, section_id, **fields)
        with self._exclusive("sessions", session.id):
            key = self.store.write_snapshot("sessions", session.id, session.to_dict())
            with self.locks["chat_sessions"]:
                self.chat_sessions[session.id] = session
            self._session_marks[session.id] = _DiskMark(key)
        try:
            with self.edit_document(document_id) as doc:
                section = doc.section(section_id)
                if section is None:
                    raise NotFound("Section not found.")
                section.session_ids.append(session.id)
        except BaseException:
            self._delete_session_files(session.id)
            raise
        return session

    @contextmanager
    def edit_session(self, session_id: str) -> Iterator["SessionWriter"]:
        """Yield a writer for a fresh session under its locks; each write is durable on return."""
        if not is_id(session_id):
            raise NotFound("Chat session not found.")
        with self._exclusive("sessions", session_id):
            session = self._refresh_session(session_id)
            if session is None:
                raise NotFound("Chat session not found.")
            yield SessionWriter(self, session)

    def append_message(self, session_id: str, message: Message) -> Message:
        """Durably add (or replace, by id) one message."""
        with self.edit_session(session_id) as writer:
            writer.put_message(message)
        return message

    def delete_chat_session(self, session_id: str) -> ChatSession:
        session = self.get_chat_session(session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        try:
            with self.edit_document(session.document_id) as doc:
                section = doc.section(session.section_id)
                if section is not None and session_id in section.session_ids:
                    section.session_ids.remove(session_id)
        except NotFound:
            pass  # the document went first; the session file is all that is left
        self._delete_session_files(session_id)
        return session

    def _delete_session_files(self, session_id: str) -> None:
        with self._exclusive("sessions", session_id):
            self.store.delete("sessions", session_id)
            self._forget_session(session_id)


class SessionWriter:
    """Durable edits to one session while its locks are held (see `AppState.edit_session`)."""

    def __init__(self, state: AppState, session: ChatSession) -> None:
        self._state = state
        self.session = session

    def put_message(self, message: Message) -> None:
        self._state._write_records(self.session, [{"op": "message", "message": message.to_dict()}])

    def set(self, **fields: Any) -> None:
        unknown = set(fields) - set(ChatSession.SETTABLE)
        if unknown:
            raise ValueError(f"not settable: {sorted(unknown)}")
        self._state._write_records(self.session, [{"op": "set", "fields": fields}])


def _apply(session: ChatSession, record: dict[str, Any]) -> None:
    """Apply one journal record to a session in memory."""
    op = record["op"]
    if op == "message":
        session.upsert_message(Message.from_dict(record["message"]))
    elif op == "set":
        for name, value in record["fields"].items():
            if name in ChatSession.SETTABLE:
                setattr(session, name, value)
    else:
        raise ValueError(f"unknown journal op {op!r}")
    session.updated_at = record.get("at", session.updated_at)
