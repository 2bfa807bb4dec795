"""A document to read: its sections rendered by the server (Preview and Read on the document page)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import reading as service
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.reading import RenderedDocumentOut, RenderedQuery

bp = Blueprint("reading", __name__, url_prefix="/api/documents")


@bp.get("/<doc_id>/rendered")
@declare(query=RenderedQuery, responses={200: RenderedDocumentOut, 404: ResponseSpec(
    "application/json", ErrorOut, "No such document or section, or not one the user may see")})
def rendered_document(doc_id: str, query: RenderedQuery):
    """The document's sections in order, each with its text rendered from Markdown to sanitized HTML
    (`?section=` for one of them); header sections name the heading level their title is shown at."""
    return jsonify(service.rendered_document(doc_id, query.section))
