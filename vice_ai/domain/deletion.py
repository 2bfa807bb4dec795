"""Deleting documents, sections and chats: one sequence for all three.

halt (stop the chats' generations and notification streams and wait for them,
so no worker writes to or spends tokens on a chat that is gone) -> delete the
files (the resources', then the files attached to them) -> release (tell the
chats' tabs and free their event buffers).

Who may delete: a document, its owner; a chat, whoever may write it; a
section, the document's owner, or an editor when every chat on it is the
editor's own (a share must not let one person wipe another's chats).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..errors import Conflict
from ..services import services
from .models import Document, Section
from .resources import (
    EDIT,
    OWNER,
    current_user,
    document_level,
    edit_document,
    load_document,
    load_section,
    load_session,
)

T = TypeVar("T")


def _session_ids(doc: Document) -> list[str]:
    return [sid for section in doc.sections for sid in section.session_ids]


def _halt(session_ids: list[str], timeout: float = 10.0) -> None:
    found = services()
    for session_id in session_ids:
        found.engine.stop(session_id)
    for session_id in session_ids:
        found.streams.stop_session(session_id)
    deadline = time.monotonic() + timeout
    for session_id in session_ids:
        round_ = found.engine.running(session_id)
        if round_ is not None:
            round_.wait(max(0.0, deadline - time.monotonic()))


def _release(session_ids: Iterable[str]) -> None:
    hub = services().hub
    for session_id in session_ids:
        hub.drop_session(session_id)


def _delete(session_ids: list[str], delete: Callable[[], T], doc_id: str | None = None) -> T:
    _halt(session_ids)
    result = delete()
    files = services().files
    for session_id in session_ids:
        files.delete_owner("chat", session_id)
    if doc_id is not None:
        files.delete_owner("document", doc_id)
    _release(session_ids)
    return result


def delete_document(doc_id: str) -> Document:
    """Delete a document (owner only) with its sections and their chats."""
    doc = load_document(doc_id, OWNER)
    return _delete(_session_ids(doc), lambda: services().state.delete_document(doc_id), doc_id=doc_id)


def _others_chats(doc: Document, section: Section) -> list[str]:
    """The usernames of the people, other than the current user, whose chats are on the section."""
    if document_level(doc) == OWNER:
        return []
    found, user = services(), current_user()
    names: set[str] = set()
    for session_id in section.session_ids:
        session = found.state.get_chat_session(session_id)
        owner = found.access.owner_id(session.owner) if session is not None else None
        if session is None or (user is not None and owner == user.id):
            continue
        account = found.accounts.get(owner) if owner else None
        names.add(account.username if account is not None else "a removed account")
    return sorted(names)


def _refuse_others_chats(doc: Document, section: Section) -> None:
    names = _others_chats(doc, section)
    if names:
        raise Conflict(f"This section holds chats of {', '.join(names)}; only the document's owner may delete it "
                       "with them.", owners=names)


def delete_section(doc_id: str, section_id: str) -> str:
    """Delete a section with its chats: the owner always, an editor only when the chats on it are all theirs."""
    doc = load_document(doc_id, EDIT)
    section = load_section(doc, section_id)
    _refuse_others_chats(doc, section)  # before halting: nobody else's reply is stopped for a refusal

    def delete() -> str:
        with edit_document(doc_id) as doc:
            gone = load_section(doc, section_id)
            _refuse_others_chats(doc, gone)  # again under the lock: a chat may have started meanwhile
            doc.sections.remove(gone)
        for session_id in gone.session_ids:
            services().state.delete_chat_session(session_id)
        return gone.id

    return _delete(list(section.session_ids), delete)


def delete_session(session_id: str) -> str:
    """Delete one chat (edit access to it)."""
    load_session(session_id, EDIT)
    _delete([session_id], lambda: services().state.delete_chat_session(session_id))
    return session_id
