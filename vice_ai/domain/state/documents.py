"""The documents half of `AppState`: a snapshot and a journal per document, edits written as what changed.

An edit works on a draft (`drafts`: sections copied when touched), and what
changed goes to the document's journal as records; the new Document object
shares every untouched section with the one before it, so the cost of an edit
follows what it changed, not the document's size. Loaded Document objects are
never changed in place: readers holding one keep a consistent document.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import NotFound
from ..models import Document, now
from . import drafts, refresh
from .table import DiskMark

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...storage.store import Store
    from .listing import DocumentCard, DocumentCards
    from .table import Held, ResourceTable

log = logging.getLogger(__name__)

class DocumentsHalf:
    """Mixed into `AppState`."""

    store: Store
    _table: ResourceTable
    _listing: DocumentCards
    if TYPE_CHECKING:
        _hold: Callable[[str, str], Held]
        tell: Callable[[str, Any], None]
        _may_exist: Callable[[str, str], bool]
        _after_append: Callable[[str, str, DiskMark], None]
        _delete_session_files: Callable[[str], None]
        _stored: Callable[[str, str], bool]

    def _refresh_document(self, doc_id: str) -> Document | None:
        # Valid JSON of the wrong shape is as corrupt as a torn file.
        return refresh.refreshed(self.store, self._table, "documents", doc_id, Document.from_dict,
                                 self._catch_up_document, lambda exc: f"{doc_id}.json: bad document data ({exc!r})")

    def _catch_up_document(self, doc_id: str, doc: Document, mark: DiskMark) -> Document:
        """`doc` with the journal records past `mark` (a new object; the mark moves only on success)."""
        records, offset, seq = refresh.records_after(self.store, "documents", doc_id, mark)
        if records:
            doc = drafts.apply(doc, records)
        mark.offset, mark.seq = offset, seq
        return doc

    def _commit_document(self, current: Document, edited: Document) -> Document:
        """Journal what changed from `current` to the draft `edited` (hold the locks); the new document."""
        edited.updated_at = now()
        records = drafts.diff(current, edited)
        mark = self._table.marks["documents"][current.id]
        for i, record in enumerate(records, start=1):
            record["seq"] = mark.seq + i
            record.setdefault("at", edited.updated_at)
        mark.offset = self.store.append_journal("documents", current.id, records, at=mark.offset)
        mark.seq += len(records)
        mark.generations = self.store.generations("documents", current.id)
        doc = drafts.freeze(edited)
        self._table.put("documents", doc.id, doc, mark)
        self._after_append("documents", doc.id, mark)
        self.tell("document_saved", doc)
        self.tell("document_replaced", (current, doc))
        return doc

    def get_document(self, doc_id: str) -> Document | None:
        """The current document, or None; reads the files only when they changed."""
        if not self._may_exist("documents", doc_id):
            return None
        with self._hold("documents", doc_id):
            return self._refresh_document(doc_id)

    def list_documents(self) -> list[Document]:
        """Every stored document, loaded (for sweeps and search; the list the API shows uses `document_cards`)."""
        docs = [self.get_document(doc_id) for doc_id in self.store.ids("documents")]
        return [d for d in docs if d is not None]

    def document_cards(self) -> list[DocumentCard]:
        """A card (summary, owner, shares) of every stored document, at the cost of what changed (`listing`)."""
        return self._listing.cards()

    def peek_document(self, doc_id: str) -> tuple[Document, tuple[int, int]] | None:
        """A stored document and its lock file's counters, read under its locks; kept loaded only if it was."""
        with self._hold("documents", doc_id):
            cached = doc_id in self._table.caches["documents"]
            doc = self._refresh_document(doc_id)
            mark = self._table.marks["documents"].get(doc_id)
            if doc is None or mark is None:
                return None
            if not cached:
                self._table.drop("documents", doc_id)
            return doc, mark.generations

    def create_document(self, doc: Document) -> Document:
        with self._hold("documents", doc.id):
            key = self.store.write_snapshot("documents", doc.id, doc.to_dict())
            mark = DiskMark(key, generations=self.store.generations("documents", doc.id))
            self._table.put("documents", doc.id, doc, mark)
            self.tell("document_saved", doc)
            self.tell("document_replaced", (None, doc))
        return doc

    @contextmanager
    def _locked_document(self, doc_id: str) -> Iterator[Document]:
        """The fresh document while its locks are held, or NotFound."""
        if not self._may_exist("documents", doc_id):
            raise NotFound("Document not found.")
        with self._hold("documents", doc_id):
            doc = self._refresh_document(doc_id)
            if doc is None:
                raise NotFound("Document not found.")
            yield doc

    @contextmanager
    def edit_document(self, doc_id: str) -> Iterator[Document]:
        """Yield a draft of the fresh document under its locks; what changed is saved on normal exit, nothing
        on error (the draft copies a section when it is first handed out: readers never see a half edit)."""
        with self._locked_document(doc_id) as current:
            edited = drafts.draft(current)
            yield edited
            self._commit_document(current, edited)

    def delete_document(self, doc_id: str) -> Document:
        """Delete its sessions, then the document, under its locks (a crash between: listed ids, absent)."""
        with self._locked_document(doc_id) as doc:
            for section in doc.sections:
                for session_id in section.session_ids:
                    self._delete_session_files(session_id)
            self.store.delete("documents", doc_id)
            self._table.drop("documents", doc_id)
            self.tell("document_deleted", doc_id)
            self.tell("document_replaced", (doc, None))
        return doc

    def repair_document(self, doc_id: str) -> list[str]:
        """Unlist the sessions a document lists with no file (neither stored nor quarantined); returns them."""
        doc = self.get_document(doc_id)
        if doc is None or all(self._stored("sessions", sid) for s in doc.sections for sid in s.session_ids):
            return []
        with self._locked_document(doc_id) as current:  # again under the lock: a create may be under way
            missing = [sid for s in current.sections for sid in s.session_ids if not self._stored("sessions", sid)]
            if missing:
                edited = drafts.draft(current)
                for section in edited.sections:
                    section.session_ids = [sid for sid in section.session_ids if sid not in missing]
                self._commit_document(current, edited)
        return missing

    def _document_view(self, doc: Document) -> Any:
        return doc  # never changed in place: encoding it later, without the lock, is safe

    def _encode_document(self, view: Any) -> dict[str, Any]:
        return view.to_dict()
