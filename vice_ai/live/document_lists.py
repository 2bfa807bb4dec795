"""Each user's document list, live: a channel per user (`list_key`) telling what their list shows changed.

`DocumentLists` is an `AppState` listener on `document_replaced` (the document
before and after every save, creation and deletion, under its lock, in order),
so every way a document changes for someone reaches it once. It works out who
saw the document before and who sees it now (its owner and the users it is
shared with, as `accounts/access.py` says) and publishes to each of their list
channels:

- `document_listed`: the document as that user's list shows it (an item of
  `GET /api/documents`: its summary and their `access`): created, shared with
  them, renamed, changed, or their access changed;
- `document_unlisted`: gone from their list (deleted, or their share taken away).

Only users whose list is open get events: a list channel held in this process
(`Hub.has_channel`), or with Redis one scored in the lists' watch set by a list
socket in any process (`redis_hub.LISTS_WATCHED`, renewed while it is open, as a
chat's socket is in its document's), so a change saved in one process reaches a
list open in another through the shared hub. A document page a revoked user has
open is closed by `Hub.revalidate` (`not_found`).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..accounts.access import OWNER, SHARE_LEVELS, Access
from ..accounts.users import LOCAL_ID
from ..domain.models import Document
from .hub import LIST, Hub

if TYPE_CHECKING:
    from ..domain.state import AppState

log = logging.getLogger(__name__)


def list_key(user_id: str) -> str:
    """The channel of a user's document list."""
    return LIST + user_id


class DocumentLists:
    """Turns saved changes of documents into events on the list channels of the users who see them."""

    def __init__(self, hub: Hub, access: Access) -> None:
        self.hub = hub
        self.access = access
        self.bus: Any = getattr(hub, "bus", None)  # RedisHub's: who watches a list is known in Redis

    @classmethod
    def attach(cls, hub: Hub, state: AppState, access: Access) -> DocumentLists:
        lists = cls(hub, access)
        state.add_listener(lists.on_change)
        return lists

    def listening(self, user_ids: list[str]) -> set[str]:
        """Those of `user_ids` with a list open (with Redis: in any process; one round trip for them all)."""
        if self.bus is None:
            return {uid for uid in user_ids if self.hub.has_channel(list_key(uid))}
        if not user_ids:
            return set()
        from .redis_hub import LISTS_WATCHED, WATCH_SECONDS
        watched = set(self.bus.watched(LISTS_WATCHED, time.time() - WATCH_SECONDS))
        return {uid for uid in user_ids if list_key(uid) in watched}

    def audience(self, doc: Document | None) -> dict[str, str]:
        """{user id: access} of everyone whose list shows `doc`."""
        if doc is None:
            return {}
        if self.access.mode == "local":
            return {LOCAL_ID: OWNER}  # one user, who owns everything
        found = {share["user"]: share["access"] for share in doc.shared_with if share.get("access") in SHARE_LEVELS}
        owner = self.access.owner_id(doc.owner)
        if owner is not None:
            found[owner] = OWNER
        return found

    def on_change(self, event: str, subject: Any) -> None:
        """One saved change (see `AppState.add_listener`); only `document_replaced` matters here."""
        if event != "document_replaced":
            return
        before, after = subject
        try:
            self._replaced(before, after)
        except Exception as exc:  # the save is done; a list that missed it is right again on reload
            log.error("document list events not sent: %s", exc)

    def _replaced(self, before: Document | None, after: Document | None) -> None:
        was, now = self.audience(before), self.audience(after)
        same = before is not None and after is not None and before.summary() == after.summary()
        gone = sorted(was.keys() - now.keys())
        told = sorted(uid for uid, level in now.items() if not same or was.get(uid) != level)
        listening = self.listening(gone + told)
        for user_id in gone:  # so `before` is a document
            if before is not None and user_id in listening:
                self._publish(user_id, {"type": "document_unlisted", "document_id": before.id})
        for user_id in told:
            if after is not None and user_id in listening:
                self._publish(user_id, {"type": "document_listed",
                                        "document": {**after.summary(), "access": now[user_id]}})

    def _publish(self, user_id: str, event: dict[str, Any]) -> None:
        self.hub.publish(list_key(user_id), "", event)
