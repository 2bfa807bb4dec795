"""Export of a document as a download: readable Markdown (optionally with its chats) or complete JSON."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..domain import export as service
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.documents import DocumentExportOut, DocumentExportQuery

bp = Blueprint("export", __name__, url_prefix="/api/documents")

DOWNLOAD = ResponseSpec(
    "text/markdown", None,
    "A download (Content-Disposition: attachment). `format=markdown`: the document as Markdown, sections as "
    "headings at their levels, with `chats=true` the chat transcripts after them. `format=json`: "
    "`{document, sessions}`, the document with every section's history and all its chat sessions.",
    alternatives=(("application/json", DocumentExportOut),))


@bp.get("/<doc_id>/export")
@declare(query=DocumentExportQuery, responses={200: DOWNLOAD, 404: ResponseSpec(
    "application/json", ErrorOut, "No such document, or not one the user may see")})
def export_document(doc_id: str, query: DocumentExportQuery):
    """Download a document as Markdown or as complete JSON."""
    found = service.export_document(doc_id, query.format, query.chats)
    if found.media_type == "application/json":
        response = jsonify(found.content)
    else:
        response = Response(found.content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response
