"""HTTP API for files as context: upload to a chat or a document (multipart), list, read the text, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import attachments
from .declare import ErrorOut, ResponseSpec, Upload, UploadedFile, declare
from .schemas.files import FileDeletedOut, FileListOut, FileOut, FileTextOut

bp = Blueprint("files", __name__, url_prefix="/api")
TAGS = ["files"]
UPLOAD = Upload(files=("file",))
UNREADABLE = ResponseSpec("application/json", ErrorOut,
                          "Not a file this app reads (text, Markdown, PDF, DOCX), or empty, broken or encrypted")
TOO_MANY = ResponseSpec("application/json", ErrorOut, "The chat or document already has the most files allowed")


@bp.post("/sessions/<session_id>/files")
@declare(upload=UPLOAD, responses={201: FileOut, 400: UNREADABLE, 409: TOO_MANY}, tags=TAGS)
def upload_session_file(session_id: str, files: dict[str, UploadedFile]):
    """Attach a file to a chat (write access to the chat); its text goes with every reply's context."""
    got = files["file"]
    return jsonify(attachments.add_to_session(session_id, got.filename, got.data)), 201


@bp.get("/sessions/<session_id>/files")
@declare(responses={200: FileListOut}, tags=TAGS)
def list_session_files(session_id: str):
    """The files a chat's replies are given: the chat's own (`scope` "chat"), then its document's."""
    return jsonify({"files": attachments.session_files(session_id)})


@bp.get("/sessions/<session_id>/files/<file_id>")
@declare(responses={200: FileTextOut}, tags=TAGS)
def get_session_file(session_id: str, file_id: str):
    """One of the chat's files, or of its document's, with the text extracted from it."""
    return jsonify(attachments.session_file(session_id, file_id))


@bp.delete("/sessions/<session_id>/files/<file_id>")
@declare(responses={200: FileDeletedOut}, tags=TAGS)
def delete_session_file(session_id: str, file_id: str):
    """Delete one of the chat's own files (write access to the chat)."""
    return jsonify({"deleted": attachments.delete_session_file(session_id, file_id)})


@bp.post("/documents/<doc_id>/files")
@declare(upload=UPLOAD, responses={201: FileOut, 400: UNREADABLE, 409: TOO_MANY}, tags=TAGS)
def upload_document_file(doc_id: str, files: dict[str, UploadedFile]):
    """Attach a file to a document (edit access): every chat of the document is given its text."""
    got = files["file"]
    return jsonify(attachments.add_to_document(doc_id, got.filename, got.data)), 201


@bp.get("/documents/<doc_id>/files")
@declare(responses={200: FileListOut}, tags=TAGS)
def list_document_files(doc_id: str):
    """The document's files."""
    return jsonify({"files": attachments.document_files(doc_id)})


@bp.get("/documents/<doc_id>/files/<file_id>")
@declare(responses={200: FileTextOut}, tags=TAGS)
def get_document_file(doc_id: str, file_id: str):
    """One of the document's files with the text extracted from it."""
    return jsonify(attachments.document_file(doc_id, file_id))


@bp.delete("/documents/<doc_id>/files/<file_id>")
@declare(responses={200: FileDeletedOut}, tags=TAGS)
def delete_document_file(doc_id: str, file_id: str):
    """Delete one of the document's files (edit access to the document)."""
    return jsonify({"deleted": attachments.delete_document_file(doc_id, file_id)})
