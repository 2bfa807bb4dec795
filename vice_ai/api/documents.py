"""HTTP API for documents: list, create, read, rename, delete."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from ..accounts.identity import current_user
from ..domain import deletion
from ..domain import documents as service
from ..domain.resources import document_view, load_document
from ..errors import BadRequest
from ..services import services
from .validation import get_choice, get_int, get_text, json_body

bp = Blueprint("documents", __name__, url_prefix="/api/documents")


def new_section(raw: dict[str, Any]) -> service.NewSection:
    """A section as a caller describes it (also used by the sections blueprint)."""
    cfg = current_app.config
    from ..domain.models import SECTION_TYPES

    return service.NewSection(
        title=get_text(raw, "title", max_len=cfg["MAX_TITLE_CHARS"], required=True),
        content=get_text(raw, "content", max_len=cfg["MAX_SECTION_CHARS"], default=""),
        type=get_choice(raw, "type", SECTION_TYPES, default="text"),
        level=get_int(raw, "level", lo=1, hi=6, default=1),
    )


@bp.get("")
def list_documents():
    """The documents the user may see (own and shared), newest first, each with the user's `access`."""
    user, rules = current_user(), services().access
    visible = [(d, rules.document_level(d, user)) for d in services().state.list_documents()]
    docs = sorted(((d, level) for d, level in visible if level), key=lambda pair: pair[0].updated_at, reverse=True)
    return jsonify({"documents": [{**d.summary(), "access": level} for d, level in docs]})


@bp.post("")
def create_document():
    body = json_body({"title", "description", "sections"})
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], required=True, allow_empty=False)
    description = get_text(body, "description", max_len=10_000, default="")
    raw_sections = body.get("sections")
    if raw_sections is None:
        raw_sections = []
    if not isinstance(raw_sections, list) or len(raw_sections) > service.MAX_SECTIONS:
        raise BadRequest(f"'sections' must be a list of at most {service.MAX_SECTIONS} sections.", field="sections")
    specs = []
    for i, raw in enumerate(raw_sections):
        where = f"sections[{i}]"
        if not isinstance(raw, dict) or set(raw) - {"title", "content", "type", "level"}:
            raise BadRequest(f"'{where}' must be an object with title, content?, type?, level?.", field=where)
        try:
            specs.append(new_section(raw))
        except BadRequest as exc:
            field = f"{where}.{exc.details.get('field')}"
            raise BadRequest(f"{where}: {exc.message}", **{**exc.details, "field": field}) from exc
    doc = service.create_document(title, description, specs)
    return jsonify(document_view(doc)), 201


@bp.get("/<doc_id>")
def get_document(doc_id: str):
    return jsonify(document_view(load_document(doc_id)))


@bp.patch("/<doc_id>")
def update_document(doc_id: str):
    body = json_body({"title", "description"})
    title = get_text(body, "title", max_len=current_app.config["MAX_TITLE_CHARS"], allow_empty=False)
    description = get_text(body, "description", max_len=10_000)
    return jsonify(document_view(service.update_document(doc_id, title, description)))


@bp.delete("/<doc_id>")
def delete_document(doc_id: str):
    return jsonify({"deleted": deletion.delete_document(doc_id).id})
