"""HTTP API for documents and their sections (ordering, edits with version checks, history)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from .errors import BadRequest, Conflict, NotFound
from .models import SECTION_STATUSES, SECTION_TYPES, Document, Section, new_id, now
from .services import (EDIT, OWNER, access, app_state, current_user, document_view, edit_document, load_document,
                       load_section)
from .sessions import halt_sessions, release_sessions
from .validation import get_choice, get_int, get_text, json_body

bp = Blueprint("documents", __name__, url_prefix="/api/documents")

MAX_SECTIONS = 1000


def _limits() -> tuple[int, int]:
    return current_app.config["MAX_TITLE_CHARS"], current_app.config["MAX_SECTION_CHARS"]


def _new_section(doc_id: str, body: dict[str, Any]) -> Section:
    title_max, content_max = _limits()
    section = Section(
        id=new_id(),
        document_id=doc_id,
        title=get_text(body, "title", max_len=title_max, required=True),
        content=get_text(body, "content", max_len=content_max, default=""),
        type=get_choice(body, "type", SECTION_TYPES, default="text"),
        level=get_int(body, "level", lo=1, hi=6, default=1),
    )
    section.record_version("Created", {"kind": "edit"})
    return section


@bp.get("")
def list_documents():
    """The documents the user may see (own and shared), newest first, each with the user's `access`."""
    user, rules = current_user(), access()
    visible = [(d, rules.document_level(d, user)) for d in app_state().list_documents()]
    docs = sorted(((d, level) for d, level in visible if level), key=lambda pair: pair[0].updated_at, reverse=True)
    return jsonify({"documents": [{**d.summary(), "access": level} for d, level in docs]})


@bp.post("")
def create_document():
    body = json_body({"title", "description", "sections"})
    title_max, _ = _limits()
    doc = Document(
        id=new_id(),
        title=get_text(body, "title", max_len=title_max, required=True, allow_empty=False),
        description=get_text(body, "description", max_len=10_000, default=""),
        owner=current_user().id,
    )
    raw_sections = body.get("sections")
    if raw_sections is None:
        raw_sections = []
    # Only a list will do: a falsy "" or {} must not pass as "no sections".
    if not isinstance(raw_sections, list) or len(raw_sections) > MAX_SECTIONS:
        raise BadRequest(f"'sections' must be a list of at most {MAX_SECTIONS} sections.", field="sections")
    for i, raw in enumerate(raw_sections):
        where = f"sections[{i}]"
        if not isinstance(raw, dict) or set(raw) - {"title", "content", "type", "level"}:
            raise BadRequest(f"'{where}' must be an object with title, content?, type?, level?.", field=where)
        try:
            doc.sections.append(_new_section(doc.id, raw))
        except BadRequest as exc:
            # Name the entry, so the caller knows which of many sections is wrong.
            field = f"{where}.{exc.details.get('field')}"
            raise BadRequest(f"{where}: {exc.message}", **{**exc.details, "field": field}) from exc
    app_state().create_document(doc)
    return jsonify(document_view(doc)), 201


@bp.get("/<doc_id>")
def get_document(doc_id: str):
    return jsonify(document_view(load_document(doc_id)))


@bp.patch("/<doc_id>")
def update_document(doc_id: str):
    body = json_body({"title", "description"})
    title_max, _ = _limits()
    title = get_text(body, "title", max_len=title_max, allow_empty=False)
    description = get_text(body, "description", max_len=10_000)
    with edit_document(doc_id) as doc:
        if title is not None:
            doc.title = title
        if description is not None:
            doc.description = description
    return jsonify(document_view(doc))


def _session_ids(doc: Document) -> list[str]:
    return [sid for section in doc.sections for sid in section.session_ids]


@bp.delete("/<doc_id>")
def delete_document(doc_id: str):
    halt_sessions(_session_ids(load_document(doc_id, OWNER)))
    doc = app_state().delete_document(doc_id)
    release_sessions(_session_ids(doc))
    return jsonify({"deleted": doc.id})


@bp.post("/<doc_id>/sections")
def create_section(doc_id: str):
    body = json_body({"title", "content", "type", "level", "position"})
    section = _new_section(doc_id, body)
    with edit_document(doc_id) as doc:
        if len(doc.sections) >= MAX_SECTIONS:
            raise BadRequest(f"A document holds at most {MAX_SECTIONS} sections.")
        position = get_int(body, "position", lo=0, hi=len(doc.sections), default=len(doc.sections))
        section.document_id = doc.id
        doc.sections.insert(position, section)
    return jsonify(section.public()), 201


@bp.patch("/<doc_id>/sections/<section_id>")
def update_section(doc_id: str, section_id: str):
    body = json_body({"title", "content", "type", "level", "status", "version", "summary"})
    title_max, content_max = _limits()
    expected = get_int(body, "version", lo=1, hi=2**53, required=True)
    title = get_text(body, "title", max_len=title_max)
    content = get_text(body, "content", max_len=content_max)
    kind = get_choice(body, "type", SECTION_TYPES)
    level = get_int(body, "level", lo=1, hi=6)
    status = get_choice(body, "status", SECTION_STATUSES)
    summary = get_text(body, "summary", max_len=500)
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        if expected != section.version:
            raise Conflict(
                f"The section changed since you loaded it (you have version {expected}, "
                f"it is at version {section.version}).",
                current_version=section.version,
                section=section.public(),
            )
        for name, value in (("title", title), ("type", kind), ("level", level), ("status", status)):
            if value is not None:
                setattr(section, name, value)
        if content is not None and content != section.content:
            section.content = content
            section.version += 1
            section.updated_at = now()
            section.record_version(summary or "Edited", {"kind": "edit"})
        section.updated_at = now()
    return jsonify(section.public())


@bp.delete("/<doc_id>/sections/<section_id>")
def delete_section(doc_id: str, section_id: str):
    state = app_state()
    halt_sessions(load_section(load_document(doc_id, EDIT), section_id).session_ids)
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        doc.sections.remove(section)
    for session_id in section.session_ids:
        state.delete_chat_session(session_id)
    release_sessions(section.session_ids)
    return jsonify({"deleted": section.id})


@bp.post("/<doc_id>/sections/<section_id>/move")
def move_section(doc_id: str, section_id: str):
    body = json_body({"direction", "position"})
    direction = get_choice(body, "direction", ("up", "down"))
    if direction is not None and body.get("position") is not None:
        raise BadRequest("Give either 'direction' or 'position', not both.", field="position")
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        index = doc.sections.index(section)
        last = len(doc.sections) - 1
        if direction is not None:
            target = max(0, index - 1) if direction == "up" else min(last, index + 1)
        else:
            target = get_int(body, "position", lo=0, hi=last, required=True)
        doc.sections.insert(target, doc.sections.pop(index))
    return jsonify(document_view(doc))


@bp.get("/<doc_id>/sections/<section_id>/versions")
def list_versions(doc_id: str, section_id: str):
    section = load_section(load_document(doc_id), section_id)
    return jsonify({"current_version": section.version, "versions": section.history})


@bp.post("/<doc_id>/sections/<section_id>/versions/<int:version>/revert")
def revert_section(doc_id: str, section_id: str, version: int):
    with edit_document(doc_id) as doc:
        section = load_section(doc, section_id)
        old = next((v for v in section.history if v["version"] == version), None)
        if old is None:
            raise NotFound(f"Section has no version {version}.")
        previous = section.content
        section.content = old["content"]
        section.version += 1
        section.updated_at = now()
        section.record_version(f"Reverted to version {version}", {"kind": "revert", "from_version": version})
    return jsonify({"section": section.public(), "previous_content": previous})
