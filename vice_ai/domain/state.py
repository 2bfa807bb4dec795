"""`app_state`: documents and chat sessions in memory, a lock per resource, files behind them.

Every change goes: thread lock of the resource -> its file lock -> catch up with
the files (another process may have written) -> write to disk -> apply in memory.
So what is in memory is never ahead of what is on disk, and two processes
sharing the data folder never lose each other's updates. Lock order is always
document before session, and no lock is held during model calls or socket sends.

Catching up costs one read of two counters kept in the lock file (see `locks.SidecarLock`) when nobody else
wrote; the data files are read only when they moved. Files changed by hand while the app runs are seen after a restart.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound, StorageError
from ..storage.files import CorruptFile
from ..storage.journal import JournalMoved
from ..storage.locks import Exclusive
from ..storage.store import Store
from .models import ChatSession, Document, Message, is_id, new_id, now
from .records import apply_record, snapshot_data

log = logging.getLogger(__name__)

# What building a model from parsed JSON of the wrong shape raises.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


class _Moved(Exception):
    """The session's files are not where the in-memory copy left them."""


@dataclass
class _DiskMark:
    """How far the in-memory copy of a session has read its files."""

    key: tuple[int, int, int]  # of the snapshot it was built from (its size sets when to compact)
    offset: int = 0
    seq: int = 0
    generations: tuple[int, int] = (-1, -1)  # the lock file's counters when it was last current


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
        self._doc_generations: dict[str, tuple[int, int]] = {}
        self._session_marks: dict[str, _DiskMark] = {}
        self._listeners: list[Callable[[str, Any], None]] = []

    def add_listener(self, listener: Callable[[str, Any], None]) -> None:
        """`listener(event, subject)` after each change is on disk, under its locks, in order (quick; no writes here):
        document_saved/_deleted (Document/id), session_created/_written/_deleted (ChatSession/(it, records)/id)."""
        self._listeners.append(listener)

    def tell(self, event: str, subject: Any) -> None:
        for listener in self._listeners:
            try:
                listener(event, subject)
            except Exception:  # the change is durable already: a listener's fault must not fail it
                log.exception("a listener failed on %s", event)

    # -- locking --------------------------------------------------------------------
    def resource_lock(self, kind: str, item_id: str) -> threading.RLock:
        with self._resource_locks_guard:
            lock = self._resource_locks.get((kind, item_id))
            if lock is None:
                lock = self._resource_locks[(kind, item_id)] = threading.RLock()
            return lock

    def _exclusive(self, kind: str, item_id: str) -> Exclusive:
        return Exclusive(self.resource_lock(kind, item_id), self.store.lock(kind, item_id))

    def _may_exist(self, kind: str, item_id: str) -> bool:
        """False for a valid id that names nothing: such requests make no lock file."""
        cache = self.documents if kind == "documents" else self.chat_sessions
        return item_id in cache or (is_id(item_id) and self.store.exists(kind, item_id))

    # -- documents ------------------------------------------------------------------
    def _refresh_document(self, doc_id: str) -> Document | None:
        generations = self.store.generations("documents", doc_id)
        cached = self.documents.get(doc_id)
        if cached is not None and self._doc_generations.get(doc_id) == generations:
            return cached
        try:
            snap = self.store.read_snapshot("documents", doc_id)
        except CorruptFile as exc:
            self.store.quarantine("documents", doc_id, str(exc))
            self._forget_document(doc_id)
            return None
        if snap is None:
            self._forget_document(doc_id)
            self.store.drop_lock("documents", doc_id)
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
        self._doc_generations[doc_id] = generations
        return doc

    def _forget_document(self, doc_id: str) -> None:
        with self.locks["documents"]:
            self.documents.pop(doc_id, None)
        self._doc_generations.pop(doc_id, None)

    def _save_document(self, doc: Document) -> None:
        self.store.write_snapshot("documents", doc.id, doc.to_dict())
        self._doc_generations[doc.id] = self.store.generations("documents", doc.id)
        with self.locks["documents"]:
            self.documents[doc.id] = doc
        self.tell("document_saved", doc)

    def get_document(self, doc_id: str) -> Document | None:
        """The current document, or None; reads the file only when it changed."""
        if not self._may_exist("documents", doc_id):
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
    def _locked_document(self, doc_id: str) -> Iterator[Document]:
        """The fresh document while its locks are held, or NotFound."""
        if not self._may_exist("documents", doc_id):
            raise NotFound("Document not found.")
        with self._exclusive("documents", doc_id):
            doc = self._refresh_document(doc_id)
            if doc is None:
                raise NotFound("Document not found.")
            yield doc

    @contextmanager
    def edit_document(self, doc_id: str) -> Iterator[Document]:
        """Yield a copy of the fresh document under its locks; saved on normal exit, dropped on error."""
        with self._locked_document(doc_id) as current:
            # Edit a copy: readers keep a consistent document, and an error changes nothing.
            doc = Document.from_dict(current.to_dict())
            yield doc
            doc.updated_at = now()
            self._save_document(doc)

    def delete_document(self, doc_id: str) -> Document:
        """Delete its sessions, then the document, under its locks (a crash between: listed ids, absent)."""
        with self._locked_document(doc_id) as doc:
            for section in doc.sections:
                for session_id in section.session_ids:
                    self._delete_session_files(session_id)
            self.store.delete("documents", doc_id)
            self._forget_document(doc_id)
            self.tell("document_deleted", doc_id)
        return doc

    # -- chat sessions --------------------------------------------------------------
    def _refresh_session(self, session_id: str) -> ChatSession | None:
        generations = self.store.generations("sessions", session_id)
        session = self.chat_sessions.get(session_id)
        mark = self._session_marks.get(session_id)
        if session is not None and mark is not None and mark.generations == generations:
            return session  # nobody wrote since we last looked
        try:
            if session is None or mark is None or mark.generations[0] != generations[0]:
                loaded = self._load_session(session_id)
            else:
                try:
                    self._catch_up(session_id, session, mark)
                    loaded = session, mark
                except _Moved:
                    # Not the records that follow ours (a journal reset that no
                    # counter showed): read it all again.
                    loaded = self._load_session(session_id)
        except (CorruptFile, *_SHAPE_ERRORS) as exc:
            self.store.quarantine("sessions", session_id, str(exc) if isinstance(exc, CorruptFile) else repr(exc))
            self._forget_session(session_id)
            return None
        if loaded is None:
            self._forget_session(session_id)
            self.store.drop_lock("sessions", session_id)
            return None
        session, mark = loaded
        mark.generations = generations
        with self.locks["chat_sessions"]:
            self.chat_sessions[session_id] = session
        self._session_marks[session_id] = mark
        return session

    def _load_session(self, session_id: str) -> tuple[ChatSession, _DiskMark] | None:
        """A session from its snapshot and the whole of its journal."""
        snap = self.store.read_snapshot("sessions", session_id)
        if snap is None:
            return None
        session = ChatSession.from_dict(snap.data)
        mark = _DiskMark(snap.key, 0, snap.journal_base)
        try:
            self._catch_up(session_id, session, mark)
        except _Moved as exc:
            raise CorruptFile(f"{session_id}.journal: {exc}") from exc
        return session, mark

    def _catch_up(self, session_id: str, session: ChatSession, mark: _DiskMark) -> None:
        """Apply the journal records past `mark`; records the snapshot already holds are skipped."""
        try:
            records, offset = self.store.read_journal("sessions", session_id, mark.offset)
        except JournalMoved as exc:
            raise _Moved(str(exc)) from exc
        for record in records:
            seq = record["seq"]
            if seq <= mark.seq:
                continue  # left by a compaction that stopped before emptying the journal
            if seq != mark.seq + 1:
                # Appends are numbered one by one: a gap means these are not the
                # records that follow what we hold.
                raise _Moved(f"record {seq} follows {mark.seq}")
            apply_record(session, record)
            mark.seq = seq
        mark.offset = offset

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
        mark.offset = self.store.append_journal("sessions", session.id, records, at=mark.offset)
        for record in records:
            apply_record(session, record, trusted=True)
        mark.seq = records[-1]["seq"]
        if mark.offset > max(self.compact_bytes, mark.key[2]):
            self._compact(session, mark)
        mark.generations = self.store.generations("sessions", session.id)
        self.tell("session_written", (session, records))

    def _compact(self, session: ChatSession, mark: _DiskMark) -> None:
        """Fold the journal into a new snapshot (a failure is retried on a later append)."""
        try:
            try:
                data = snapshot_data(session)
                mark.key = self.store.write_snapshot("sessions", session.id, data, journal_base=mark.seq)
            except TypeError:
                # A field json cannot take as it is (a nested dataclass?): the slow, exact way.
                data = session.to_dict()
                mark.key = self.store.write_snapshot("sessions", session.id, data, journal_base=mark.seq)
            self.store.reset_journal("sessions", session.id)
            mark.offset = 0
        except (OSError, StorageError) as exc:
            # The records are durable in the journal already: the append stands.
            log.warning("could not compact session %s (will retry): %s", session.id, exc)

    def get_chat_session(self, session_id: str) -> ChatSession | None:
        """The session from memory (caught up with its files), or loaded from its file."""
        if not self._may_exist("sessions", session_id):
            return None
        with self._exclusive("sessions", session_id):
            return self._refresh_session(session_id)

    def session_dict(self, session_id: str) -> dict[str, Any] | None:
        """A consistent copy of a session, taken under its lock."""
        if not self._may_exist("sessions", session_id):
            return None
        with self._exclusive("sessions", session_id):
            session = self._refresh_session(session_id)
            return None if session is None else session.to_dict()

    def create_chat_session(self, section_id: str, document_id: str, **fields: Any) -> ChatSession:
        """Create a session: listed in its section, then its file written, both under the document's locks
        (a crash between leaves a listed id with no file: absent, and `repair_document` unlists it)."""
        session = ChatSession(new_id(), document_id, section_id, **fields)
        with self._locked_document(document_id) as current:
            if current.section(section_id) is None:
                raise NotFound("Section not found.")
            doc = Document.from_dict(current.to_dict())
            doc.section(section_id).session_ids.append(session.id)  # type: ignore[union-attr]
            doc.updated_at = now()
            self._save_document(doc)
            with self._exclusive("sessions", session.id):
                key = self.store.write_snapshot("sessions", session.id, session.to_dict())
                with self.locks["chat_sessions"]:
                    self.chat_sessions[session.id] = session
                generations = self.store.generations("sessions", session.id)
                self._session_marks[session.id] = _DiskMark(key, generations=generations)
                self.tell("session_created", session)
        return session

    @contextmanager
    def edit_session(self, session_id: str) -> Iterator[SessionWriter]:
        """Yield a writer for a fresh session under its locks; each write is durable on return."""
        if not self._may_exist("sessions", session_id):
            raise NotFound("Chat session not found.")
        with self._exclusive("sessions", session_id):
            session = self._refresh_session(session_id)
            if session is None:
                raise NotFound("Chat session not found.")
            yield SessionWriter(self, session)

    def append_message(self, session_id: str, message: Message, changes: dict[str, Any] | None = None) -> Message:
        """Durably add (or replace, by id) one message, and `changes` to settable fields in the same write."""
        # edit_session + put_message, spelled out: this is the hottest write path.
        if not self._may_exist("sessions", session_id):
            raise NotFound("Chat session not found.")
        with self._exclusive("sessions", session_id):
            session = self._refresh_session(session_id)
            if session is None:
                raise NotFound("Chat session not found.")
            records = [{"op": "message", "message": message.to_dict()}]
            if changes:
                records.append({"op": "set", "fields": changes})
            self._write_records(session, records)
        return message

    def delete_chat_session(self, session_id: str) -> ChatSession:
        """Delete a session's files, then unlist it, under the document's locks (a crash between: absent)."""
        session = self.get_chat_session(session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        try:
            with self.edit_document(session.document_id) as doc:
                self._delete_session_files(session_id)
                section = doc.section(session.section_id)
                if section is not None and session_id in section.session_ids:
                    section.session_ids.remove(session_id)
        except NotFound:
            self._delete_session_files(session_id)  # the document went first; the session file is all that is left
        return session

    def repair_document(self, doc_id: str) -> list[str]:
        """Unlist the sessions a document lists with no file (neither stored nor quarantined); returns them."""
        doc = self.get_document(doc_id)
        if doc is None or all(self._stored("sessions", sid) for s in doc.sections for sid in s.session_ids):
            return []
        with self._locked_document(doc_id) as current:  # again under the lock: a create may be under way
            doc = Document.from_dict(current.to_dict())
            missing = [sid for s in doc.sections for sid in s.session_ids if not self._stored("sessions", sid)]
            for section in doc.sections:
                section.session_ids = [sid for sid in section.session_ids if sid not in missing]
            if missing:
                self._save_document(doc)
        return missing

    def _stored(self, kind: str, item_id: str) -> bool:
        """On disk, or in quarantine (someone may put it back): not what a crash left half-written."""
        aside = self.store.root / "quarantine" / kind
        return self.store.exists(kind, item_id) or any(aside.glob(f"{item_id}.json.*"))

    def drop_if_orphan(self, session_id: str) -> bool:
        """Delete a session no section lists (checked under its document's locks); True if it did."""
        session = self.peek_session(session_id)
        if session is None:
            return False
        with self._exclusive("documents", session.document_id):
            doc = self._refresh_document(session.document_id)
            section = doc.section(session.section_id) if doc is not None else None
            if (section is not None and session_id in section.session_ids) or (
                    doc is None and self._stored("documents", session.document_id)):
                return False  # listed, or its document is in quarantine
            self._delete_session_files(session_id)
            return True

    def peek_session(self, session_id: str) -> ChatSession | None:
        """A stored session, read under its locks; kept in memory only if it already was (for sweeps)."""
        with self._exclusive("sessions", session_id):
            cached, session = session_id in self.chat_sessions, self._refresh_session(session_id)
            if not cached:
                self._forget_session(session_id)
            return session

    def _delete_session_files(self, session_id: str) -> None:
        with self._exclusive("sessions", session_id):
            self.store.delete("sessions", session_id)
            self._forget_session(session_id)
            self.tell("session_deleted", session_id)


class SessionWriter:
    """Durable edits to one session while its locks are held (see `AppState.edit_session`)."""

    def __init__(self, state: AppState, session: ChatSession) -> None:
        self._state = state
        self.session = session

    def put_message(self, message: Message) -> None:
        self._state._write_records(self.session, [{"op": "message", "message": message.to_dict()}])

    def put_text(self, message_id: str, text: str) -> None:  # a streaming reply's checkpoint (records.py)
        self._state._write_records(self.session, [{"op": "text", "message_id": message_id, "text": text}])

    def set(self, **fields: Any) -> None:
        if unknown := set(fields) - set(ChatSession.SETTABLE):
            raise ValueError(f"not settable: {sorted(unknown)}")
        self._state._write_records(self.session, [{"op": "set", "fields": fields}])
