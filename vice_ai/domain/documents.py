"""Documents and their sections: creating, editing with version checks, ordering, reverting, writing replies in.

Every change of a section's text goes through `Section.new_version`, so the
version and its history entry are written in one place. Input arrives here
already validated (types, lengths, choices); these functions apply the rules
that need the stored document (versions, positions, the section limit).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..accounts.identity import current_user
from ..errors import BadRequest, Conflict, NotFound
from ..services import services
from .models import SECTION_STATUSES, Document, Section, new_id, now
from .passages import replace_passage
from .resources import EDIT, edit_document, load_section

MAX_SECTIONS = 1000


@dataclass
class NewSection:
    """What a caller gives for a new section."""

    title: str
    content: str = ""
    type: str = "text"
    level: int = 1


def by_current_user(source: dict[str, Any]) -> dict[str, Any]:
    """A version's source with who made the change (`user`: their id), unless it names someone already."""
    user = current_user()
    return source if user is None or "user" in source else {**source, "user": user.id}


def _section(doc_id: str, spec: NewSection) -> Section:
    section = Section(id=new_id(), document_id=doc_id, title=spec.title, content=spec.content, type=spec.type,
                      level=spec.level)
    section.record_version("Created", by_current_user({"kind": "edit"}))
    return section


def create_document(title: str, description: str, sections: list[NewSection]) -> Document:
    """A new document owned by the current user."""
    if len(sections) > MAX_SECTIONS:
        raise BadRequest(f"'sections' must be a list of at most {MAX_SECTIONS} sections.", field="sections")
    user = current_user()
    doc = Document(id=new_id(), title=title, description=description,
                   owner=user.id if user is not None else "local")
    doc.sections = [_section(doc.id, spec) for spec in sections]
    services().state.create_document(doc)
    return doc


def update_document(doc_id: str, title: str | None, description: str | None) -> Document:
    with edit_document(doc_id) as doc:
        if title is not None:
            doc.title = title
        if description is not None:
            doc.description = description
    return doc


def create_section(doc_id: str, spec: NewSection, position: int | None) -> Section:
    section = _section(doc_id, spec)
    with edit_document(doc_id) as doc:
        if len(doc.sections) >= MAX_SECTIONS:
            raise BadRequest(f"A document holds at most {MAX_SECTIONS} sections.")
        if position is None:
            position = len(doc.sections)
        if position > len(doc.sections):
            raise BadRequest(f"'position' must be between 0 and {len(doc.sections)}.", field="position")
        doc.sections.insert(position, section)
    return section


def update_section(doc_id: str, section_id: str, version: int, changes: dict[str, Any],
                   content: str | None, summary: str | None) -> Section:
    """Change a section the caller saw at `version` (409 with the current one if it moved on)."""
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        if version != section.version:
            raise Conflict(
                f"The section changed since you loaded it (you have version {version}, "
                f"it is at version {section.version}).",
                current_version=section.version,
                section=section.public(),
            )
        for name in ("title", "type", "level"):
            if changes.get(name) is not None:
                setattr(section, name, changes[name])
        status = changes.get("status")
        if content is not None and content != section.content:  # the history keeps the status it replaced
            section.new_version(content, summary or "Edited", by_current_user({"kind": "edit"}), status)
        elif status is not None:
            section.status = status
        section.updated_at = now()
    return section


def move_section(doc_id: str, section_id: str, direction: str | None, position: int | None) -> Document:
    if direction is not None and position is not None:
        raise BadRequest("Give either 'direction' or 'position', not both.", field="position")
    if direction is None and position is None:
        raise BadRequest("'position' is required.", field="position")
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        index = doc.sections.index(section)
        last = len(doc.sections) - 1
        if direction is not None:
            target = max(0, index - 1) if direction == "up" else min(last, index + 1)
        else:
            assert position is not None
            if position > last:
                raise BadRequest(f"'position' must be between 0 and {last}.", field="position")
            target = position
        doc.sections.insert(target, doc.sections.pop(index))
    return doc


def revert_section(doc_id: str, section_id: str, version: int, reviewed: str | None = None,
                   reviewed_version: int | None = None) -> tuple[Section, str]:
    """Make an old version's text the newest version; returns the section and the text it replaced.

    The status comes back too: the one the section had while that version was its text (kept by the
    version that replaced it, so an Undo of an apply brings back the status from before the apply); a
    version written before statuses were kept leaves the status as it is. The history's summary says so.
    `reviewed`: the text the user made of the revert in a review (saved instead of the old version's text),
    checked against `reviewed_version`, the section's version the review started from (409 if it moved on).
    """
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        index = next((i for i, v in enumerate(section.history) if v["version"] == version), None)
        if index is None:
            raise NotFound(f"Section has no version {version}.")
        old = section.history[index]
        later = section.history[index + 1] if index + 1 < len(section.history) else {}
        status = later.get("previous_status")
        if status not in SECTION_STATUSES or status == section.status:
            status = None
        source: dict[str, Any] = {"kind": "revert", "from_version": version}
        content = old["content"]
        if reviewed is not None:
            check_reviewed(section, reviewed_version)
            content, source["reviewed"] = reviewed, True
        previous = section.content
        summary = f"Reverted to version {version}" + (f"; status back to {status}" if status else "")
        section.new_version(content, summary, by_current_user(source), status)
    return section, previous


def check_reviewed(section: Section, version: int | None) -> None:
    """A reviewed text replaces the section only if the section is still at the version the review showed."""
    if version is None:
        raise BadRequest("A reviewed 'content' needs the section 'version' it was reviewed against.", field="version")
    if section.version != version:
        raise Conflict(
            f"The section changed since the review started (version {version} -> {section.version}). "
            "Review the change again.",
            current_version=section.version, section=section.public())


def appended(current: str, text: str) -> str:
    """A section's text with `text` added after it, a blank line between."""
    return f"{current.rstrip()}\n\n{text}" if current.strip() else text


def write_reply(doc_id: str, section_id: str, content: str, summary: str, source: dict[str, Any],
                base_version: int | None = None, then: Callable[[], object] | None = None,
                append: bool = False, passage: dict[str, Any] | None = None,
                reviewed_version: int | None = None) -> dict[str, Any]:
    """Write text that came from a chat into a section as a new version ("generated").

    `append` adds it after the section's text as it is under the lock; `passage` (a selection reference)
    puts it in place of that passage only (domain/passages.py: found again if the section changed). With
    `base_version`, refuse (409) if the section moved on since then; `then` runs
    after the checks and before the write, under the document's lock. With `reviewed_version`, `content`
    is the text the user made of it in a review: it replaces the section as it is, if the section is still
    at that version (409 if not), and the history's source says `reviewed`. Returns
    `{section, previous_content, previous_version}` (undo = revert to previous_version).
    """
    limit = services().config["MAX_SECTION_CHARS"]
    with edit_document(doc_id, EDIT) as doc:
        section = load_section(doc, section_id)
        if reviewed_version is not None:  # the user's reviewed text replaces the section as it is
            check_reviewed(section, reviewed_version)
            source = {**source, "reviewed": True}
        elif append:
            content = appended(section.content, content)
        elif passage is not None:
            content = replace_passage(section, passage, content)
        if len(content) > limit:
            raise BadRequest(f"The section would be longer than {limit} characters.")
        if base_version is not None and section.version != base_version:
            raise Conflict(
                f"The section changed since this was proposed (version {base_version} "
                f"-> {section.version}). Accept with force to replace it anyway.",
                current_version=section.version)
        if then is not None:
            then()
        previous = {"previous_content": section.content, "previous_version": section.version}
        section.new_version(content, summary, by_current_user(source), "generated")
    return {"section": section.public(), **previous}
