"""The document list at the cost of what changed: a small card per stored document, checked without locks.

Listing needs every document's summary (to sort and filter by access), not the
documents: `DocumentCards` keeps a card per stored document (title, counts,
dates, owner, shares: a few hundred bytes, no sections) with the counters of
the lock file it was read at. A list first reads the folder-wide change mark
(`Store.changes`): where this process left it, nothing was written, created or
deleted since, by any process, and the cards stand as they are. Where it moved,
each document's counters are read without its lock (`Store.peek_generations`)
and only a document whose counters moved (or a new one) is read again, under
its locks, without taking a place in the LRU of loaded documents.

Both marks are written before the write they announce (see `store.WATCHED`
and `locks.SidecarLock.peek`), and the change mark is read before the
counters: a change another process finished before a list started is in that
list.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models import Document
    from . import AppState


@dataclass(frozen=True, slots=True)
class DocumentCard:
    """What the list shows of a document, and what the access rules ask of it (`owner`, `shared_with`)."""

    id: str
    title: str
    description: str
    section_count: int
    created_at: str
    updated_at: str
    owner: str
    shared_with: tuple[dict[str, str], ...]

    @classmethod
    def of(cls, doc: Document) -> DocumentCard:
        return cls(doc.id, doc.title, doc.description, len(doc.sections), doc.created_at, doc.updated_at,
                   doc.owner, tuple(dict(s) for s in doc.shared_with))

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "description": self.description,
                "section_count": self.section_count, "created_at": self.created_at,
                "updated_at": self.updated_at, "owner": self.owner,
                "shared_with": [dict(s) for s in self.shared_with]}


class DocumentCards:
    """The cards of every stored document, brought up to date on each `cards()` (see the module)."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._guard = threading.Lock()
        self._mark: bytes | None = None
        self._cards: dict[str, tuple[tuple[int, int], DocumentCard]] = {}

    def cards(self) -> list[DocumentCard]:
        store = self._state.store
        mark = store.changes("documents")  # first: a change after this read shows in the next list
        with self._guard:
            known = self._cards
            if mark is not None and mark == self._mark:
                return [card for _, card in known.values()]
        fresh: dict[str, tuple[tuple[int, int], DocumentCard]] = {}
        for doc_id in store.ids("documents"):
            had = known.get(doc_id)
            if had is not None and store.peek_generations("documents", doc_id) == had[0]:
                fresh[doc_id] = had
                continue
            found = self._state.peek_document(doc_id)
            if found is not None:
                fresh[doc_id] = (found[1], DocumentCard.of(found[0]))
        with self._guard:
            self._cards, self._mark = fresh, mark
        return [card for _, card in fresh.values()]
