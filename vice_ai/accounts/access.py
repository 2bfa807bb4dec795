"""Who may do what: the access rules for documents and chat sessions, in one place.

Documents: the owner may do everything; a share gives "read" or "edit";
sharing and deleting are the owner's alone. Chat sessions: anyone who can read
the document can read them; the session's owner or the document's owner can
write them. Whatever a user may not do answers 404 (see services.py), so ids
cannot be probed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .users import LOCAL_ID, Accounts, User

if TYPE_CHECKING:
    from ..domain.models import ChatSession, Document

READ, EDIT, OWNER = "read", "edit", "owner"


class Shareable(Protocol):
    """What the document rules look at: a Document, or the card the document list keeps of one."""

    @property
    def owner(self) -> str: ...

    @property
    def shared_with(self) -> Sequence[dict[str, str]]: ...

SHARE_LEVELS = (READ, EDIT)
_RANK = {READ: 1, EDIT: 2, OWNER: 3}


def enough(level: str | None, need: str) -> bool:
    """True if access `level` covers `need` (read < edit < owner)."""
    return level is not None and _RANK[level] >= _RANK[need]


class Access:
    """Answers access questions for one app (its auth mode and its accounts)."""

    def __init__(self, mode: str, accounts: Accounts) -> None:
        self.mode = mode
        self.accounts = accounts

    def owner_id(self, owner: str) -> str | None:
        """The account that owns something marked `owner`.

        Files from local mode (or from before accounts) say "local"; once the
        server uses accounts they belong to the first admin, so moving from
        local mode to accounts loses nobody's work.
        """
        if owner != LOCAL_ID or self.mode == "local":
            return owner
        heir = self.accounts.first_admin()
        return heir.id if heir else None

    def document_level(self, doc: Shareable, user: User | None, heir: Any = None) -> str | None:
        """"owner", "edit", "read" or None for what `user` may do with `doc`.

        `heir`: `owner_id("local")` when the caller already knows it (a list asks once, not per document).
        """
        if user is None:
            return None
        if self.mode == "local":
            return OWNER  # one user, who owns everything
        owner = heir if doc.owner == LOCAL_ID and heir is not None else self.owner_id(doc.owner)
        if owner == user.id:
            return OWNER
        for share in doc.shared_with:
            if share.get("user") == user.id and share.get("access") in SHARE_LEVELS:
                return share["access"]
        return None

    def document_levels(self, docs: Sequence[Shareable], user: User | None) -> list[str | None]:
        """`document_level` of each document, the heir of local files looked up once for them all."""
        needs_heir = self.mode != "local" and any(d.owner == LOCAL_ID for d in docs)
        heir = (self.owner_id(LOCAL_ID) or "") if needs_heir else None
        return [self.document_level(d, user, heir) for d in docs]

    def session_level(self, session: ChatSession, doc: Document, user: User | None) -> str | None:
        """"edit" (send, stop, retry, change, delete), "read" or None for a chat session."""
        level = self.document_level(doc, user)
        if level is None or session.document_id != doc.id:
            return None
        if level == OWNER or (user is not None and self.owner_id(session.owner) == user.id):
            return EDIT
        return READ

    def may_read_document(self, user: Any, document_id: str, state: Any) -> bool:
        """For the hub: may this socket's user still see anything of the document?"""
        doc = state.get_document(document_id)
        return doc is not None and self.document_level(doc, user) is not None
