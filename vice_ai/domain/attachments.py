"""Files attached to chats and documents: who may list, read, add and delete them.

The rules are those of the chat or document the file belongs to: whoever may read a
chat may read its files and its document's files (they are part of every reply's
context); whoever may write the chat may add and delete the chat's files; a
document's files are added and deleted with edit access to the document. What a
user may not do answers 404, like the resource itself.
"""
from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..services import services
from .resources import EDIT, READ, current_user, load_document, load_session


def _user_id() -> str | None:
    user = current_user()
    return user.id if user is not None else None


def _add(scope: str, owner_id: str, filename: str, data: bytes) -> dict[str, Any]:
    return services().files.add(scope, owner_id, filename, data, _user_id())


def add_to_session(session_id: str, filename: str, data: bytes) -> dict[str, Any]:
    """Attach an upload to a chat (write access to the chat)."""
    load_session(session_id, EDIT)
    meta = _add("chat", session_id, filename, data)
    _unless_gone(lambda: load_session(session_id, EDIT), "chat", session_id, meta["id"])
    return meta


def add_to_document(doc_id: str, filename: str, data: bytes) -> dict[str, Any]:
    """Attach an upload to a document, for all its chats (edit access to the document)."""
    load_document(doc_id, EDIT)
    meta = _add("document", doc_id, filename, data)
    _unless_gone(lambda: load_document(doc_id, EDIT), "document", doc_id, meta["id"])
    return meta


def _unless_gone(check: Any, scope: str, owner_id: str, file_id: str) -> None:
    """The chat or document was deleted (or the access taken away) while the file was being read: take the
    file back (404), so no file outlives its owner's deletion."""
    try:
        check()
    except NotFound:
        services().files.delete(scope, owner_id, file_id)
        raise


def session_files(session_id: str) -> list[dict[str, Any]]:
    """A chat's files, then its document's (read access to the chat)."""
    session = load_session(session_id, READ)
    files = services().files
    return files.files_of("chat", session_id) + files.files_of("document", session.document_id)


def document_files(doc_id: str) -> list[dict[str, Any]]:
    """A document's files (read access)."""
    load_document(doc_id, READ)
    return services().files.files_of("document", doc_id)


def session_file(session_id: str, file_id: str) -> dict[str, Any]:
    """One of a chat's files or of its document's, with its text (read access to the chat)."""
    session = load_session(session_id, READ)
    files = services().files
    found = files.get("chat", session_id, file_id) or files.get("document", session.document_id, file_id)
    if found is None:
        raise NotFound("File not found.")
    return found


def document_file(doc_id: str, file_id: str) -> dict[str, Any]:
    """One of a document's files with its text (read access)."""
    load_document(doc_id, READ)
    found = services().files.get("document", doc_id, file_id)
    if found is None:
        raise NotFound("File not found.")
    return found


def delete_session_file(session_id: str, file_id: str) -> str:
    """Delete one of a chat's own files (write access to the chat; a document's files go from the document)."""
    load_session(session_id, EDIT)
    if not services().files.delete("chat", session_id, file_id):
        raise NotFound("File not found.")
    return file_id


def delete_document_file(doc_id: str, file_id: str) -> str:
    """Delete one of a document's files (edit access to the document)."""
    load_document(doc_id, EDIT)
    if not services().files.delete("document", doc_id, file_id):
        raise NotFound("File not found.")
    return file_id
