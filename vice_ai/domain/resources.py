"""One load-or-404 helper per resource, where access is checked once per resource.

every route and the websocket go through them with the user and the access
they need. Whatever the user may not see, or may see but not change, answers
the same 404 as a resource that does not exist, so ids cannot be probed.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..accounts.access import EDIT, OWNER, READ, enough
from ..accounts.identity import current_user
from ..errors import NotFound
from ..services import services
from .models import ChatSession, Document, Section

if TYPE_CHECKING:
    from ..accounts.users import User
    from .state import SessionWriter

__all__ = ["READ", "EDIT", "OWNER", "CURRENT", "current_user"]

# "The user of the current request" (a worker passes its user explicitly).
CURRENT: Any = object()


def _user(user: Any) -> User | None:
    return current_user() if user is CURRENT else user


def document_level(doc: Document, user: Any = CURRENT) -> str | None:
    """What the user may do with a document they already hold: "owner", "edit", "read" or None."""
    return services().access.document_level(doc, _user(user))


def document_view(doc: Document, user: Any = CURRENT) -> dict[str, Any]:
    """A document as the API shows it, with the caller's `access` ("owner", "edit" or "read").

    Pages offer only what that access allows.
    """
    return {**doc.public(), "access": document_level(doc, user)}


def session_level(session: ChatSession, doc: Document, user: Any = CURRENT) -> str | None:
    """What the user may do with a chat they already hold: "edit" (write it), "read" or None."""
    return services().access.session_level(session, doc, _user(user))


def load_document(doc_id: str, need: str = READ, user: Any = CURRENT) -> Document:
    """The document if the user has `need` access to it, else a 404 (ids that are not uuids never reach the disk)."""
    doc = services().state.get_document(doc_id)
    if doc is None or not enough(services().access.document_level(doc, _user(user)), need):
        raise NotFound("Document not found.")
    return doc


def load_section(doc: Document, section_id: str) -> Section:
    """The section of a document (loaded with the access needed) or a 404."""
    section = doc.section(section_id)
    if section is None:
        raise NotFound("Section not found.")
    return section


def load_session(session_id: str, need: str = READ, user: Any = CURRENT) -> ChatSession:
    """The chat session if the user has `need` ("read" or "edit") access to it, else a 404.

    A session its section does not list (a crash between writing it and its
    document left it behind) is as absent as one that does not exist.
    """
    session = services().state.get_chat_session(session_id)
    if session is not None:
        doc = services().state.get_document(session.document_id)
        section = doc.section(session.section_id) if doc is not None else None
        listed = section is not None and session_id in section.session_ids
        if doc is not None and listed and enough(services().access.session_level(session, doc, _user(user)), need):
            return session
    raise NotFound("Chat session not found.")


@contextmanager
def edit_document(doc_id: str, need: str = EDIT, user: Any = CURRENT) -> Iterator[Document]:
    """`services().state.edit_document`, checked on the fresh copy under the document's lock."""
    who = _user(user)
    with services().state.edit_document(doc_id) as doc:
        if not enough(services().access.document_level(doc, who), need):
            raise NotFound("Document not found.")
        yield doc


@contextmanager
def edit_session(session_id: str, user: Any = CURRENT) -> Iterator[SessionWriter]:
    """`services().state.edit_session` for a user with edit access (checked first: documents lock before sessions)."""
    load_session(session_id, EDIT, user)
    with services().state.edit_session(session_id) as writer:
        yield writer
