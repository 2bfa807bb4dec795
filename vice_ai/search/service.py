"""The search service: keeps the index current from `AppState`'s changes and answers searches a user may see.

Every saved change reaches `on_change` (an `AppState` listener) under the
resource's lock, in order; it only queues what to write, so a user's write never
waits for, nor fails because of, the index. One writer thread applies the queue
in a transaction per batch. The index is rebuilt from the JSON files when its
file is missing, damaged or of another schema, and after any write of it failed.
Results are checked against the live documents and access rules, so a stale
index row can never show what a user may not read.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.models import ChatSession, Document, Message, now
from ..errors import Busy, NotFound, StorageError
from .index import Hit, IndexCorrupt, Item, SearchIndex, match_expression

if TYPE_CHECKING:
    from ..accounts.access import Access
    from ..accounts.users import User
    from ..domain.state import AppState

log = logging.getLogger(__name__)

INDEXED_ROLES = ("user", "assistant")
_INDEX_ERRORS = (sqlite3.Error, IndexCorrupt, OSError, StorageError)
Op = Callable[[sqlite3.Connection], None]


def document_items(doc: Document) -> list[Item]:
    """A document's row (title and description) and a row per section (title and text)."""
    items = [Item("document", doc.id, title=doc.title, body=doc.description, created_at=doc.created_at)]
    items += [Item("section", doc.id, s.id, title=s.title, body=s.content, created_at=s.updated_at)
              for s in doc.sections]
    return items


def message_item(session: ChatSession, message: Message) -> Item | None:
    """A finished user or assistant message with text; None for what is not searched (a reply still
    streaming is indexed when it is final, tool traffic never)."""
    if message.role not in INDEXED_ROLES or message.status == "streaming" or not message.content.strip():
        return None
    return Item("message", session.document_id, session.section_id, session.id, message.id, message.role,
                message.created_at, body=message.content)


def chat_item(session: ChatSession) -> Item:
    """A chat's own row: its title."""
    return Item("chat", session.document_id, session.section_id, session.id, created_at=session.created_at,
                title=session.title)


def session_items(session: ChatSession) -> list[Item]:
    return [chat_item(session)] + [item for m in session.messages if (item := message_item(session, m)) is not None]


class SearchService:
    """The index of one data folder, its writer thread, and the searches."""

    def __init__(self, state: AppState, access: Access, path: Path, wait_seconds: float = 30.0) -> None:
        self.state = state
        self.access = access
        self.index = SearchIndex(path)
        self.wait_seconds = wait_seconds
        self.rebuilds = 0  # how many times this process rebuilt the index (tests and logs)
        self._ops: deque[Op] = deque()
        self._cond = threading.Condition()
        self._queued = 0  # changes queued since start, and how many of them the writer is done with
        self._done = 0
        self._ready = False  # opened and complete: searches may read it
        self._rebuild_wanted = False
        self._failing = False  # logged once per run of failures
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Open (or build) the index and apply changes, in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Apply what is queued, then stop the writer (idempotent)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def flush(self, timeout: float) -> bool:
        """Wait until every change queued so far is in a complete index; False if that took too long."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued  # not later ones: a busy server must not keep a search waiting
            while self._done < target or not self._ready:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self._cond.wait(left)
            return True

    def mark_for_rebuild(self) -> None:
        with self._cond:
            self._ready, self._rebuild_wanted = False, True
            self._cond.notify_all()

    # -- changes (an AppState listener: called under the resource's locks, so only queue) -------
    def on_change(self, event: str, subject: Any) -> None:
        """Queue the index writes for one saved change (see `AppState.add_listener` for the events)."""
        ops: list[Op] = []
        if event == "document_saved":
            # A saved Document is never changed in place: its rows are built by the writer, not under the lock.
            ops.append(lambda conn: SearchIndex.replace_document(conn, subject.id, document_items(subject)))
        elif event == "document_deleted":
            ops.append(lambda conn: SearchIndex.delete_document(conn, subject))
        elif event == "session_created":
            created = session_items(subject)
            ops.append(lambda conn: SearchIndex.put(conn, created))
        elif event == "session_deleted":
            ops.append(lambda conn: SearchIndex.delete_session(conn, subject))
        elif event == "session_written":
            items = self._written_items(*subject)
            if items:
                ops.append(lambda conn: SearchIndex.put(conn, items))
        if ops:
            with self._cond:
                self._ops.extend(ops)
                self._queued += len(ops)
                self._cond.notify_all()

    @staticmethod
    def _written_items(session: ChatSession, records: list[dict[str, Any]]) -> list[Item]:
        items: list[Item] = []
        for record in records:
            if record["op"] == "message":
                found = session.get_message(record["message"]["id"])
                item = message_item(session, found) if found is not None else None
                if item is not None:
                    items.append(item)
            elif record["op"] == "set" and "title" in record["fields"]:
                items.append(chat_item(session))
        return items

    # -- the writer ---------------------------------------------------------------------
    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        backoff = 0.5
        while True:
            with self._cond:
                while not (self._ops or self._stopping or not self._ready):
                    self._cond.wait()
                if self._stopping and not self._ops:
                    break
                batch = list(self._ops)
                self._ops.clear()
                rebuild = self._rebuild_wanted
            try:
                if conn is None:
                    conn = self._open()
                elif rebuild:
                    self._rebuild(conn)
                self._apply(conn, batch)
                with self._cond:
                    self._ready, self._failing = True, False
                backoff = 0.5
            except _INDEX_ERRORS as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                with self._cond:
                    if not self._failing:
                        log.warning("the search index failed (%s); it will be rebuilt from the data files", exc)
                    self._failing, self._ready, self._rebuild_wanted = True, False, True
            finally:
                with self._cond:
                    self._done += len(batch)
                    self._cond.notify_all()
            if self._failing:
                with self._cond:  # wait before trying again (a full disk, a locked file)
                    self._cond.wait_for(lambda: self._stopping, backoff)
                    if self._stopping:
                        break
                backoff = min(backoff * 2, 30.0)
        if conn is not None:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        """The index connection, checked; a damaged file is deleted and the index built again."""
        try:
            conn = self.index.connect()
            self.index.check(conn)
        except IndexCorrupt as exc:
            log.warning("the search index %s is not usable (%s): rebuilding it from the data files", self.index.path,
                        exc)
            self.index.remove_files()
            conn = self.index.connect()
        with self._cond:
            wanted = self._rebuild_wanted
        if wanted or SearchIndex.get_meta(conn, "built_at") is None:
            self._rebuild(conn)
        return conn

    def _rebuild(self, conn: sqlite3.Connection) -> None:
        """Every document and chat, read from the JSON files, replaces what the index holds (one transaction)."""
        with self._cond:
            self._rebuild_wanted = False
        started = time.monotonic()
        items: list[Item] = []
        for doc in self.state.list_documents():
            items += document_items(doc)
            for section in doc.sections:
                for session_id in section.session_ids:
                    session = self.state.peek_session(session_id)
                    if session is not None:
                        items += session_items(session)
        conn.execute("BEGIN IMMEDIATE")
        try:
            SearchIndex.clear(conn)
            SearchIndex.put(conn, items)
            SearchIndex.set_meta(conn, "built_at", now())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.rebuilds += 1
        log.info("search index rebuilt: %d items in %.2f s", len(items), time.monotonic() - started)

    @staticmethod
    def _apply(conn: sqlite3.Connection, batch: list[Op]) -> None:
        if not batch:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                op(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- searching ----------------------------------------------------------------------
    def search(self, user: User | None, text: str, document_id: str | None, limit: int) -> list[dict[str, Any]]:
        """The best matches the user may read, each with the ids to open it and a plain-text snippet."""
        if document_id is not None:
            doc = self.state.get_document(document_id)
            if doc is None or self.access.document_level(doc, user) is None:
                raise NotFound("Document not found.")
            docs = {doc.id: doc}
        else:
            every = self.state.list_documents()
            docs = {d.id: d for d, level in zip(every, self.access.document_levels(every, user), strict=True)
                    if level is not None}
        expression = match_expression(text)
        if expression is None or not docs:
            return []
        if not self.flush(self.wait_seconds):
            raise Busy("The search index is being built; try again in a moment.")
        try:
            conn = self.index.connect(setup=False)
            try:
                hits = SearchIndex.query(conn, expression, list(docs), limit * 2 + 10)
            finally:
                conn.close()
        except (sqlite3.DatabaseError, IndexCorrupt) as exc:
            log.warning("searching the index failed (%s); it will be rebuilt", exc)
            self.mark_for_rebuild()
            raise Busy("The search index is being rebuilt; try again in a moment.") from exc
        results = [view for hit in hits if (view := self._view(hit, docs)) is not None]
        return results[:limit]

    def _view(self, hit: Hit, docs: dict[str, Document]) -> dict[str, Any] | None:
        """A hit as the API shows it, or None when what it names is gone (the index is only a guide)."""
        doc = docs[hit.document_id]
        section = doc.section(hit.section_id) if hit.section_id else None
        view: dict[str, Any] = {
            "kind": hit.kind, "document_id": doc.id, "section_id": hit.section_id, "session_id": hit.session_id,
            "message_id": hit.message_id, "document_title": doc.title, "section_title": None,
            "section_heading": None, "title": doc.title,
            "role": hit.role, "archived": False, "snippet": hit.snippet, "matches": [list(m) for m in hit.matches],
        }
        if hit.kind == "document":
            return view
        if section is None:
            return None
        view["section_title"] = view["title"] = section.title
        view["section_heading"] = _heading(doc, section.id)
        if hit.kind == "section":
            return view
        if hit.session_id not in section.session_ids:
            return None
        session = self.state.get_chat_session(hit.session_id) if hit.session_id else None
        if session is None or (hit.kind == "message" and session.get_message(hit.message_id or "") is None):
            return None
        view["title"], view["archived"] = session.title, session.archived
        return view


def _heading(doc: Document, section_id: str) -> str | None:
    """The title of a section or, when it has none, of the nearest titled section above it (the one it is under)."""
    heading = None
    for section in doc.sections:
        heading = section.title if section.title.strip() else heading
        if section.id == section_id:
            return heading
    return None
