"""Export of a document as a download: readable Markdown (optionally with its chats), complete JSON, DOCX, bundle."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..domain import bundle, docx_export
from ..domain import export as service
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.documents import DocumentExportOut, DocumentExportQuery

bp = Blueprint("export", __name__, url_prefix="/api/documents")

DOWNLOAD = ResponseSpec(
    "text/markdown", None,
    "A download (Content-Disposition: attachment). `format=markdown`: the document as Markdown, sections as "
    "headings at their levels, with `chats=true` the chat transcripts after them. `format=json`: "
    "`{document, sessions}`, the document with every section's history and all its chat sessions. `format=docx`: "
    "section titles as headings at their levels, reference sections as quotes. `format=bundle`: a zip that "
    "`POST /api/documents/import` turns into an equal document with its chats on any server.",
    alternatives=(("application/json", DocumentExportOut), (docx_export.DOCX_TYPE, None), ("application/zip", None)))


@bp.get("/<doc_id>/export")
@declare(query=DocumentExportQuery, responses={200: DOWNLOAD, 404: ResponseSpec(
    "application/json", ErrorOut, "No such document, or not one the user may see")})
def export_document(doc_id: str, query: DocumentExportQuery):
    """Download a document as Markdown, complete JSON, DOCX or a bundle (zip) to import elsewhere."""
    if query.format in ("docx", "bundle"):
        found = docx_export.export_docx(doc_id) if query.format == "docx" else bundle.export_bundle(doc_id)
    else:
        found = service.export_document(doc_id, query.format, query.chats)
    if found.media_type == "application/json":
        response = jsonify(found.content)
    else:
        response = Response(found.content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response
