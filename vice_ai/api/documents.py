"""HTTP API for documents: list, create, read, rename, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import deletion
from ..domain import documents as service
from ..domain.document_list import document_page
from ..domain.resources import document_view, load_document
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.documents import (
    CreateDocumentIn,
    DocumentDeletedOut,
    DocumentListOut,
    DocumentPageQuery,
    SectionFieldsIn,
    UpdateDocumentIn,
)
from .schemas.resources import DocumentOut

bp = Blueprint("documents", __name__, url_prefix="/api/documents")

NO_DOCUMENT = ResponseSpec("application/json", ErrorOut, "No such document, or not one the user may see (or change)")


def new_section(spec: SectionFieldsIn) -> service.NewSection:
    """A declared section (`NewSectionIn`, `CreateSectionIn`) as the service takes it (also used by sections)."""
    return service.NewSection(title=spec.title, content=spec.content or "", type=spec.type or "text",
                              level=spec.level or 1)


@bp.get("")
@declare(query=DocumentPageQuery, responses={200: DocumentListOut})
def list_documents(query: DocumentPageQuery):
    """The documents the user may see (own and shared), last changed first, each with the user's `access`.

    A page of `limit` (default 50); `next_cursor` asks for the next one.
    """
    return jsonify(document_page(query.limit, query.cursor))


@bp.post("")
@declare(body=CreateDocumentIn, responses={201: DocumentOut})
def create_document(body: CreateDocumentIn):
    """Create a document (the user owns it), optionally with its first sections."""
    doc = service.create_document(body.title, body.description or "", [new_section(s) for s in body.sections or []])
    return jsonify(document_view(doc)), 201


@bp.get("/<doc_id>")
@declare(responses={200: DocumentOut, 404: NO_DOCUMENT})
def get_document(doc_id: str):
    """A document with its sections in order and the user's `access`."""
    return jsonify(document_view(load_document(doc_id)))


@bp.patch("/<doc_id>")
@declare(body=UpdateDocumentIn, responses={200: DocumentOut, 404: NO_DOCUMENT})
def update_document(doc_id: str, body: UpdateDocumentIn):
    """Rename a document or change its description (edit access)."""
    return jsonify(document_view(service.update_document(doc_id, body.title, body.description)))


@bp.delete("/<doc_id>")
@declare(responses={200: DocumentDeletedOut, 404: NO_DOCUMENT})
def delete_document(doc_id: str):
    """Delete a document with its sections and their chats (owner only)."""
    return jsonify({"deleted": deletion.delete_document(doc_id).id})
