"""`app_state`: documents and chat sessions in memory, a lock per resource, files behind them.

Every change goes: thread lock of the resource -> its file lock -> catch up with
the files (another process may have written) -> write to disk -> apply in memory.
So what is in memory is never ahead of what is on disk, and two processes
sharing the data folder never lose each other's updates. Lock order is always
document before session, and no lock is held during model calls or socket sends.

Catching up costs one read of two counters kept in the lock file (see
`locks.SidecarLock`) when nobody else wrote; the data files are read only when
they moved. Files changed by hand while the app runs are seen after a restart.

Documents (`documents`) and sessions (here) each have a snapshot and a journal;
journals are folded into snapshots off the append path (`compaction`); what is
loaded is an LRU of bounded size (`table`), and nothing is kept per id once a
resource is deleted or evicted.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ...errors import NotFound, StorageError
from ...storage.files import dumps
from ...storage.store import Store
from ..models import MESSAGE_FIELDS, ChatSession, Document, Message, is_id, new_id, now
from ..records import apply_record
from . import drafts, refresh
from .compaction import Compactor
from .documents import DocumentsHalf
from .listing import DocumentCards
from .table import DiskMark, Held, ResourceTable

log = logging.getLogger(__name__)

_SESSION_FIELDS = tuple(name for name in ChatSession.__dataclass_fields__ if name != "messages")

class AppState(DocumentsHalf):
    """Holds the loaded documents and chat sessions (an LRU each), each behind its own lock."""

    def __init__(self, store: Store, compact_bytes: int = 256 * 1024, cache_sessions: int = 200,
                 cache_documents: int = 200, inline_compact_bytes: int = 64 * 1024) -> None:
        self.store = store
        self.compact_bytes = compact_bytes
        # A journal whose resource is smaller than this is folded in at once (a few ms), else in the background.
        self.inline_compact_bytes = inline_compact_bytes
        self._table = ResourceTable(store, {"documents": cache_documents, "sessions": cache_sessions})
        self.documents: dict[str, Document] = self._table.caches["documents"]
        self.chat_sessions: dict[str, ChatSession] = self._table.caches["sessions"]
        self._session_marks = self._table.marks["sessions"]
        self.compactor = Compactor(self.compact)
        self._listing = DocumentCards(self)
        self._listeners: list[Callable[[str, Any], None]] = []
        self._table.on_evict = lambda kind, item_id: self.tell(f"{kind[:-1]}_evicted", item_id)

    def add_listener(self, listener: Callable[[str, Any], None]) -> None:
        """`listener(event, subject)` after each change is on disk, under its locks, in order (quick; no writes here):
        document_saved/_deleted (Document/id), document_replaced ((before, after): None for created/deleted; what
        changed for whom, with the shares before), session_created/_written/_deleted (ChatSession/(it, records)/id);
        and document_evicted/session_evicted (id) when one is unloaded from memory (not a change; no locks held)."""
        self._listeners.append(listener)

    def tell(self, event: str, subject: Any) -> None:
        for listener in self._listeners:
            try:
                listener(event, subject)
            except Exception:  # the change is durable already: a listener's fault must not fail it
                log.exception("a listener failed on %s", event)

    def keep_loaded(self, pinned: Callable[[str, str], bool]) -> None:
        """`pinned(kind, id)`: True for a resource the LRU must not unload (a session generating a reply)."""
        self._table.pinned = pinned

    def close(self, timeout: float = 5.0) -> None:
        """Stop the compactor (what it had queued stays in the journals) and let go of every descriptor."""
        self.compactor.close(timeout)
        self._table.evict_all()

    # -- locking --------------------------------------------------------------------
    def hold(self, kind: str, item_id: str) -> Held:
        """A resource's thread lock, then its file lock (`with state.hold(kind, id): ...`)."""
        return Held(self._table, kind, item_id)

    _hold = hold

    def reading(self, kind: str, item_id: str) -> AbstractContextManager[None]:
        """A resource's thread lock alone: a read no writer of this process interleaves with."""
        return self._table.reading(kind, item_id)

    def _may_exist(self, kind: str, item_id: str) -> bool:
        """False for a valid id that names nothing: such requests make no lock file."""
        cache = self.documents if kind == "documents" else self.chat_sessions
        return item_id in cache or (is_id(item_id) and self.store.exists(kind, item_id))

    # -- compaction -----------------------------------------------------------------
    def _after_append(self, kind: str, item_id: str, mark: DiskMark) -> None:
        if mark.offset <= max(self.compact_bytes, mark.key[2]):
            return
        if mark.offset + mark.key[2] <= self.inline_compact_bytes:
            try:
                self.compact(kind, item_id)
            except (OSError, StorageError) as exc:
                # The records are durable in the journal already: the append stands.
                log.warning("could not compact %s %s (will retry): %s", kind[:-1], item_id, exc)
        else:
            self.compactor.request(kind, item_id)

    def compact(self, kind: str, item_id: str) -> bool:
        """Fold a journal into a new snapshot (see `compaction`); True if it did."""
        refresh = self._refresh_document if kind == "documents" else self._refresh_session
        marks = self._table.marks[kind]
        with self._hold(kind, item_id):
            found, mark = refresh(item_id), marks.get(item_id)
            if found is None or mark is None or mark.offset <= max(self.compact_bytes, mark.key[2]):
                return False
            seen, seq, offset = mark.generations[0], mark.seq, mark.offset
            view = self._document_view(found) if isinstance(found, Document) else self._session_view(found)
        temp: str | None = self.store.stage_snapshot(kind, item_id, self._encoded(kind, view, seq))
        try:
            with self._hold(kind, item_id):
                found, mark = refresh(item_id), marks.get(item_id)
                if found is None or mark is None or mark.generations[0] != seen or mark.offset < offset:
                    return False  # deleted, or another process wrote a snapshot meanwhile
                assert temp is not None
                mark.key, temp = self.store.commit_snapshot(kind, item_id, temp, durable=False), None
                mark.generations = self.store.generations(kind, item_id)
                seen = mark.generations[0]
        finally:
            if temp is not None:
                self.store.discard_staged(temp)
        # The whole journal stays valid beside the new snapshot (records it holds are skipped by seq), so
        # its name is made durable without the lock; only then may the journal lose those records.
        self.store.sync_folder(kind)
        self._trim_journal(kind, item_id, seen, offset)
        return True

    def _trim_journal(self, kind: str, item_id: str, seen: int, start: int) -> None:
        """Replace the journal by its records after `start` (appended since the snapshot's view): the new
        file is written without the lock and renamed in under it if nothing was appended meanwhile, else
        again (the last time under the lock): an append waits for a rename and a folder sync at most."""
        refresh = self._refresh_document if kind == "documents" else self._refresh_session
        marks = self._table.marks[kind]
        for attempt in range(4):
            with self._hold(kind, item_id):
                found, mark = refresh(item_id), marks.get(item_id)
                if found is None or mark is None or mark.generations[0] != seen:
                    return  # deleted, or another snapshot since: its journal is its own business
                stop = mark.offset
                tail = self.store.journal_bytes(kind, item_id, start, stop)
                if not tail or attempt == 3:
                    self.store.reset_journal(kind, item_id, tail)
                    mark.offset, mark.generations = len(tail), self.store.generations(kind, item_id)
                    return
            staged: str | None = self.store.stage_journal(kind, item_id, tail)
            try:
                with self._hold(kind, item_id):
                    found, mark = refresh(item_id), marks.get(item_id)
                    if found is None or mark is None or mark.generations[0] != seen:
                        return
                    if mark.offset == stop:
                        assert staged is not None
                        self.store.commit_journal(kind, item_id, staged)
                        staged = None
                        mark.offset, mark.generations = len(tail), self.store.generations(kind, item_id)
                        return
            finally:
                if staged is not None:
                    self.store.discard_staged(staged)

    @staticmethod
    def _session_view(session: ChatSession) -> dict[str, Any]:
        # Messages are replaced, never changed in place, and fields are set to new values: references do.
        view = {name: getattr(session, name) for name in _SESSION_FIELDS}
        view["messages"] = list(session.messages)
        return view

    def _encoded(self, kind: str, view: Any, seq: int) -> Iterator[bytes]:
        """A snapshot's bytes in small pieces, the lock not held: each piece is one short call, so the
        thread gives the GIL (and the disk) back often and the appends of other threads go on."""
        if kind == "documents":
            yield self.store.snapshot_payload(kind, self._encode_document(view), seq)
            return
        head = {name: value for name, value in view.items() if name != "messages"}
        envelope = self.store.snapshot_payload(kind, {**head, "messages": []}, seq)
        yield envelope[:-3]  # ..."messages":[ ... ]}}: messages is the last field of the last field
        messages = view["messages"]
        for start in range(0, len(messages), 64):
            part = []
            for m in messages[start:start + 64]:
                try:
                    part.append(dumps({name: getattr(m, name) for name in MESSAGE_FIELDS}))
                except TypeError:  # a field json cannot take as it is (a nested dataclass?): the exact way
                    part.append(dumps(m.to_dict()))
            yield (b"," if start else b"") + b",".join(part)
            time.sleep(0)
        yield b"]}}"

    # -- chat sessions --------------------------------------------------------------
    def _refresh_session(self, session_id: str) -> ChatSession | None:
        return refresh.refreshed(self.store, self._table, "sessions", session_id, ChatSession.from_dict,
                                 self._catch_up, repr)

    def _catch_up(self, session_id: str, session: ChatSession, mark: DiskMark) -> ChatSession:
        """`session` with the journal records past `mark` applied in place."""
        records, mark.offset, seq = refresh.records_after(self.store, "sessions", session_id, mark)
        for record in records:
            apply_record(session, record)
        mark.seq = seq
        return session

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
        mark.generations = self.store.generations("sessions", session.id)
        self._after_append("sessions", session.id, mark)
        self.tell("session_written", (session, records))

    def get_chat_session(self, session_id: str) -> ChatSession | None:
        """The session from memory (caught up with its files), or loaded from its file."""
        if not self._may_exist("sessions", session_id):
            return None
        with self._hold("sessions", session_id):
            return self._refresh_session(session_id)

    def session_dict(self, session_id: str) -> dict[str, Any] | None:
        """A consistent copy of a session, taken under its lock."""
        if not self._may_exist("sessions", session_id):
            return None
        with self._hold("sessions", session_id):
            session = self._refresh_session(session_id)
            return None if session is None else session.to_dict()

    def create_chat_session(self, section_id: str, document_id: str, **fields: Any) -> ChatSession:
        """Create a session: listed in its section, then its file written, both under the document's locks
        (a crash between leaves a listed id with no file: absent, and `repair_document` unlists it)."""
        session = ChatSession(new_id(), document_id, section_id, **fields)
        with self._locked_document(document_id) as current:
            edited = drafts.draft(current)
            section = edited.section(section_id)
            if section is None:
                raise NotFound("Section not found.")
            section.session_ids.append(session.id)
            self._commit_document(current, edited)
            with self._hold("sessions", session.id):
                key = self.store.write_snapshot("sessions", session.id, session.to_dict())
                generations = self.store.generations("sessions", session.id)
                self._table.put("sessions", session.id, session, DiskMark(key, generations=generations))
                self.tell("session_created", session)
        return session

    @contextmanager
    def edit_session(self, session_id: str) -> Iterator[SessionWriter]:
        """Yield a writer for a fresh session under its locks; each write is durable on return."""
        if not self._may_exist("sessions", session_id):
            raise NotFound("Chat session not found.")
        with self._hold("sessions", session_id):
            session = self._refresh_session(session_id)
            if session is None:
                raise NotFound("Chat session not found.")
            yield SessionWriter(self, session)

    def append_message(self, session_id: str, message: Message, changes: dict[str, Any] | None = None) -> Message:
        """Durably add (or replace, by id) one message, and `changes` to settable fields in the same write."""
        records = [{"op": "message", "message": message.to_dict()}]
        if changes:
            records.append({"op": "set", "fields": changes})
        with self.edit_session(session_id) as writer:
            self._write_records(writer.session, records)
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

    def _stored(self, kind: str, item_id: str) -> bool:
        """On disk, or in quarantine (someone may put it back): not what a crash left half-written."""
        aside = self.store.root / "quarantine" / kind
        return self.store.exists(kind, item_id) or any(aside.glob(f"{item_id}.json.*"))

    def drop_if_orphan(self, session_id: str) -> bool:
        """Delete a session no section lists (checked under its document's locks); True if it did."""
        session = self.peek_session(session_id)
        if session is None:
            return False
        with self._hold("documents", session.document_id):
            doc = self._refresh_document(session.document_id)
            section = doc.section(session.section_id) if doc is not None else None
            if (section is not None and session_id in section.session_ids) or (
                    doc is None and self._stored("documents", session.document_id)):
                return False  # listed, or its document is in quarantine
            self._delete_session_files(session_id)
            return True

    def peek_session(self, session_id: str) -> ChatSession | None:
        """A stored session, read under its locks; kept in memory only if it already was (for sweeps)."""
        with self._hold("sessions", session_id):
            cached, session = session_id in self.chat_sessions, self._refresh_session(session_id)
            if not cached:
                self._table.drop("sessions", session_id)
            return session

    def _delete_session_files(self, session_id: str) -> None:
        with self._hold("sessions", session_id):
            self.store.delete("sessions", session_id)
            self._table.drop("sessions", session_id)
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
