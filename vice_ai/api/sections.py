"""HTTP API for the sections of a document: add, edit with version checks, delete, move, history, revert."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import deletion
from ..domain import documents as service
from ..domain.resources import document_view, load_document, load_section
from .declare import ErrorOut, ResponseSpec, declare
from .documents import new_section
from .schemas.documents import (
    CreateSectionIn,
    MoveSectionIn,
    SectionConflictOut,
    SectionDeletedOut,
    SectionInUseOut,
    SectionRevertedOut,
    SectionVersionsOut,
    UpdateSectionIn,
)
from .schemas.resources import DocumentOut, SectionOut
from .schemas.review import RevertIn

bp = Blueprint("sections", __name__, url_prefix="/api/documents/<doc_id>/sections")

NO_SECTION = ResponseSpec("application/json", ErrorOut,
                          "No such document or section, or not one the user may see (or change)")


@bp.post("")
@declare(body=CreateSectionIn, responses={201: SectionOut, 404: NO_SECTION})
def create_section(doc_id: str, body: CreateSectionIn):
    """Add a section at `position` (default: at the end)."""
    return jsonify(service.create_section(doc_id, new_section(body), body.position).public()), 201


@bp.patch("/<section_id>")
@declare(body=UpdateSectionIn, responses={200: SectionOut, 404: NO_SECTION, 409: SectionConflictOut})
def update_section(doc_id: str, section_id: str, body: UpdateSectionIn):
    """Change a section the caller loaded at `version`; new content makes a new version."""
    changes = {"title": body.title, "type": body.type, "level": body.level, "status": body.status}
    section = service.update_section(doc_id, section_id, body.version, changes, body.content, body.summary)
    return jsonify(section.public())


@bp.delete("/<section_id>")
@declare(responses={200: SectionDeletedOut, 404: NO_SECTION, 409: SectionInUseOut})
def delete_section(doc_id: str, section_id: str):
    """Delete a section with its chats.

    The owner may delete any section; an editor only one whose chats are all their own (else a 409 naming
    whose chats are there).
    """
    return jsonify({"deleted": deletion.delete_section(doc_id, section_id)})


@bp.post("/<section_id>/move")
@declare(body=MoveSectionIn, responses={200: DocumentOut, 404: NO_SECTION})
def move_section(doc_id: str, section_id: str, body: MoveSectionIn):
    """Move a section one step up or down, or to a position; answers the document."""
    return jsonify(document_view(service.move_section(doc_id, section_id, body.direction, body.position)))


@bp.get("/<section_id>/versions")
@declare(responses={200: SectionVersionsOut, 404: NO_SECTION})
def list_versions(doc_id: str, section_id: str):
    """Every version of a section's text, oldest first, each with its source."""
    section = load_section(load_document(doc_id), section_id)
    return jsonify({"current_version": section.version, "versions": section.history})


@bp.post("/<section_id>/versions/<int:version>/revert")
@declare(body=RevertIn, responses={200: SectionRevertedOut, 404: NO_SECTION, 409: SectionConflictOut})
def revert_section(doc_id: str, section_id: str, version: int, body: RevertIn):
    """Make an old version's text the newest version; with `{content, version}`, what a review made of it."""
    section, previous = service.revert_section(doc_id, section_id, version, body.content, body.version)
    return jsonify({"section": section.public(), "previous_content": previous})
