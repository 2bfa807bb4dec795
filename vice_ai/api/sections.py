"""HTTP API for the sections of a document: add, edit with version checks, delete, move, history, revert."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..domain import deletion
from ..domain import documents as service
from ..domain.models import SECTION_STATUSES, SECTION_TYPES
from ..domain.resources import document_view, load_document, load_section
from .documents import new_section
from .validation import get_choice, get_int, get_text, json_body

bp = Blueprint("sections", __name__, url_prefix="/api/documents/<doc_id>/sections")


@bp.post("")
def create_section(doc_id: str):
    body = json_body({"title", "content", "type", "level", "position"})
    position = get_int(body, "position", lo=0, hi=service.MAX_SECTIONS)
    section = service.create_section(doc_id, new_section(body), position)
    return jsonify(section.public()), 201


@bp.patch("/<section_id>")
def update_section(doc_id: str, section_id: str):
    body = json_body({"title", "content", "type", "level", "status", "version", "summary"})
    cfg = current_app.config
    version = get_int(body, "version", lo=1, hi=2**53, required=True)
    changes = {
        "title": get_text(body, "title", max_len=cfg["MAX_TITLE_CHARS"]),
        "type": get_choice(body, "type", SECTION_TYPES),
        "level": get_int(body, "level", lo=1, hi=6),
        "status": get_choice(body, "status", SECTION_STATUSES),
    }
    content = get_text(body, "content", max_len=cfg["MAX_SECTION_CHARS"])
    summary = get_text(body, "summary", max_len=500)
    section = service.update_section(doc_id, section_id, version, changes, content, summary)
    return jsonify(section.public())


@bp.delete("/<section_id>")
def delete_section(doc_id: str, section_id: str):
    return jsonify({"deleted": deletion.delete_section(doc_id, section_id)})


@bp.post("/<section_id>/move")
def move_section(doc_id: str, section_id: str):
    body = json_body({"direction", "position"})
    direction = get_choice(body, "direction", ("up", "down"))
    position = get_int(body, "position", lo=0, hi=service.MAX_SECTIONS)
    return jsonify(document_view(service.move_section(doc_id, section_id, direction, position)))


@bp.get("/<section_id>/versions")
def list_versions(doc_id: str, section_id: str):
    section = load_section(load_document(doc_id), section_id)
    return jsonify({"current_version": section.version, "versions": section.history})


@bp.post("/<section_id>/versions/<int:version>/revert")
def revert_section(doc_id: str, section_id: str, version: int):
    section, previous = service.revert_section(doc_id, section_id, version)
    return jsonify({"section": section.public(), "previous_content": previous})
