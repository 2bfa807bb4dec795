"""Editing a document without copying it: a draft whose sections are copied when touched, and its journal records.

A loaded `Document` is never changed in place once another thread may see
it: an edit works on a `draft` (a new Document object sharing every section
with the current one), whose section list copies a section the first time it
hands it out (by index, iteration, `pop`, or `Document.section`). Sections
nobody touched stay shared between the two versions. After the edit, `diff`
compares the draft with the current document (shared sections by identity,
so the cost follows what was touched) and gives the journal records; `apply`
replays records on a document the same copy-on-write way.

Records (besides `seq` and `at`):

- `{"op": "doc", "fields": {...}}`: top-level fields in `DOC_FIELDS`
- `{"op": "section_new", "index": i, "section": {...}}`: a new section at position i
- `{"op": "section", "id", "fields": {...}, "history_add": [...]}`: changed fields of a section and the
  versions added to its history (`"history": [...]` instead when the history changed otherwise)
- `{"op": "section_delete", "id"}`, `{"op": "move", "id", "index"}`, `{"op": "order", "ids": [...]}`
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import fields
from typing import Any, SupportsIndex

from ..models import Document, Section

DOC_FIELDS = tuple(f.name for f in fields(Document) if f.name != "sections")
SECTION_FIELDS = tuple(f.name for f in fields(Section) if f.name != "history")


def copy_section(section: Section) -> Section:
    """A copy an edit may change freely (its lists and history entries, nested dicts included, are its own)."""
    copy = Section.__new__(Section)
    copy.__dict__.update(section.__dict__)
    copy.history = deepcopy(section.history)
    copy.session_ids = list(section.session_ids)
    return copy


class SectionDraft(list):
    """A document's sections, each copied the first time it is handed out."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self._shared = {id(s) for s in list.__iter__(self)}

    def _own(self, index: int) -> Section:
        item = list.__getitem__(self, index)
        if id(item) in self._shared:
            self._shared.discard(id(item))
            item = copy_section(item)
            list.__setitem__(self, index, item)
        return item

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._own(i) for i in range(*index.indices(len(self)))]
        return self._own(index)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self._own(i)

    def __reversed__(self) -> Any:
        for i in range(len(self) - 1, -1, -1):
            yield self._own(i)

    def pop(self, index: SupportsIndex = -1) -> Any:
        self._own(int(index))
        return list.pop(self, index)

    def index(self, item: Any, *args: Any) -> int:
        wanted = getattr(item, "id", None)
        for i, s in enumerate(list.__iter__(self)):
            if s is item or (wanted is not None and s.id == wanted):
                return i
        raise ValueError(f"{item!r} is not in the list")

    def remove(self, item: Any) -> None:
        del self[self.index(item)]

    def __contains__(self, item: object) -> bool:
        try:
            self.index(item)
        except ValueError:
            return False
        return True

    def find(self, section_id: str) -> Section | None:
        for i, s in enumerate(list.__iter__(self)):
            if s.id == section_id:
                return self._own(i)
        return None

    def raw(self) -> list[Section]:
        return list(list.__iter__(self))


class DocumentDraft(Document):
    """A Document whose `section()` copies only the section it finds."""

    def section(self, section_id: str) -> Section | None:
        sections = self.sections
        if isinstance(sections, SectionDraft):
            return sections.find(section_id)
        return super().section(section_id)


def draft(doc: Document) -> DocumentDraft:
    values = {name: getattr(doc, name) for name in DOC_FIELDS}
    values["shared_with"] = [dict(s) for s in doc.shared_with]
    return DocumentDraft(sections=SectionDraft(doc.sections), **values)


def freeze(edited: Document) -> Document:
    """The plain Document an edited draft stands for (sharing its sections)."""
    sections = edited.sections.raw() if isinstance(edited.sections, SectionDraft) else list(edited.sections)
    return Document(sections=sections, **{name: getattr(edited, name) for name in DOC_FIELDS})


def _section_record(old: Section, new: Section) -> dict[str, Any] | None:
    changed = {name: getattr(new, name) for name in SECTION_FIELDS if getattr(new, name) != getattr(old, name)}
    record: dict[str, Any] = {"op": "section", "id": new.id, "fields": changed}
    n = len(old.history)
    if new.history is not old.history:
        if len(new.history) >= n and new.history[:n] == old.history:
            if len(new.history) > n:
                record["history_add"] = new.history[n:]
        else:
            record["history"] = new.history
    return record if changed or len(record) > 3 else None


def _single_move(before: list[str], after: list[str]) -> dict[str, Any] | None:
    """A `move` record when `after` is `before` with one section moved, else None."""
    start = next((i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b), None)
    if start is None:
        return None
    stop = next(i for i in range(len(after) - 1, -1, -1) if before[i] != after[i])
    if after[start] == before[stop] and after[start + 1:stop + 1] == before[start:stop]:
        return {"op": "move", "id": after[start], "index": start}
    if after[stop] == before[start] and after[start:stop] == before[start + 1:stop + 1]:
        return {"op": "move", "id": after[stop], "index": stop}
    return None


def diff(current: Document, edited: Document) -> list[dict[str, Any]]:
    """The records that turn `current` into `edited` (sections shared by both are skipped by identity)."""
    records: list[dict[str, Any]] = []
    changed = {name: getattr(edited, name) for name in DOC_FIELDS if getattr(edited, name) != getattr(current, name)}
    if changed:
        records.append({"op": "doc", "fields": changed})
    new = edited.sections.raw() if isinstance(edited.sections, SectionDraft) else list(edited.sections)
    old_by_id = {s.id: s for s in current.sections}
    new_ids = [s.id for s in new]
    kept = set(new_ids)
    order = [s.id for s in current.sections if s.id in kept]
    for sid in old_by_id.keys() - kept:
        records.append({"op": "section_delete", "id": sid})
    for i, section in enumerate(new):
        old = old_by_id.get(section.id)
        if old is None:
            records.append({"op": "section_new", "index": i, "section": section.to_dict()})
            order.insert(i, section.id)
        elif old is not section:
            record = _section_record(old, section)
            if record is not None:
                records.append(record)
    if order != new_ids:
        move = _single_move(order, new_ids) if len(order) == len(new_ids) else None
        records.append(move or {"op": "order", "ids": new_ids})
    return records


def apply(doc: Document, records: list[dict[str, Any]]) -> Document:
    """A new Document: `doc` with the records applied (untouched sections shared). Bad records raise
    KeyError, TypeError or ValueError (the file is then as corrupt as a torn one)."""
    edited = draft(doc)
    sections = edited.sections
    assert isinstance(sections, SectionDraft)
    for record in records:
        op = record["op"]
        if op == "doc":
            for name, value in record["fields"].items():
                if name in DOC_FIELDS:
                    setattr(edited, name, value)
        elif op == "section_new":
            sections.insert(int(record["index"]), Section.from_dict(record["section"]))
        elif op == "section":
            section = edited.section(record["id"])
            if section is None:
                raise ValueError(f"no section {record['id']!r}")
            for name, value in record.get("fields", {}).items():
                if name in SECTION_FIELDS:
                    setattr(section, name, value)
            if "history" in record:
                section.history = list(record["history"])
            section.history.extend(record.get("history_add", []))
        elif op == "section_delete":
            sections.remove(_Id(record["id"]))
        elif op == "move":
            sections.insert(int(record["index"]), sections.pop(sections.index(_Id(record["id"]))))
        elif op == "order":
            by_id = {s.id: s for s in sections.raw()}
            if sorted(record["ids"]) != sorted(by_id):
                raise ValueError("an order record that is not a permutation of the sections")
            sections[:] = [by_id[sid] for sid in record["ids"]]
        else:
            raise ValueError(f"unknown document journal op {op!r}")
    return freeze(edited)


class _Id:
    """Stands for a section by its id in `SectionDraft.index`."""

    def __init__(self, section_id: str) -> None:
        self.id = section_id
