"""Import of a file as a new document: Markdown, DOCX or a bundle exported by `GET .../export?format=bundle`."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import MethodNotAllowed

from ..domain.importing import import_file
from ..domain.resources import document_view
from .declare import ErrorOut, ResponseSpec, Upload, UploadedFile, declare
from .schemas.transfer import ImportedOut, ImportForm

bp = Blueprint("transfer", __name__, url_prefix="/api/documents")
IMPORT_PATH = "/api/documents/import"


@bp.before_app_request
def _only_post_imports() -> Response | None:
    """The import path also fits `/api/documents/<doc_id>`: other methods get 405, not a document's routes."""
    if request.path != IMPORT_PATH or request.method == "POST":
        return None
    if request.method == "OPTIONS":
        return Response(status=200, headers={"Allow": "OPTIONS, POST"})
    raise MethodNotAllowed(valid_methods=["POST"])


@bp.post("/import")
@declare(upload=Upload(files=("file",), form=ImportForm), responses={
    201: ImportedOut,
    400: ResponseSpec("application/json", ErrorOut, "Not a file this server reads, or one that breaks its limits "
                                                    "or (a bundle) whose parts do not fit together; nothing is kept"),
    413: ResponseSpec("application/json", ErrorOut, "The file, or what a zip unpacks to, is larger than the limit"),
})
def import_document(files: dict[str, UploadedFile], form: ImportForm):
    """Import a Markdown, DOCX or bundle file as a new document.

    Markdown and DOCX: every heading becomes a header section at its level and the text between headings a
    text section (DOCX quotes: reference sections). A bundle gives back the document with its history and
    chats, under new ids. The kind is found from the content.
    """
    upload = files["file"]
    found = import_file(upload.filename, upload.data, form.title)
    view = {**document_view(found.document), "imported_from": found.kind, "sessions": found.sessions}
    return jsonify(view), 201
