"""API tokens: a script acts as a user with `Authorization: Bearer vice_...` instead of a cookie.

A token is made once (`secrets.token_urlsafe`, with the prefix `vice_` so it is
recognisable in a config file or a leak report), shown once, and kept only as
its SHA-256 in its user's file (with a name, a short hint, when it was made and
when it was last used). Finding a token is a dictionary lookup by its hash; the
user's file, re-read whenever it changed on disk, has the last word, so a token
revoked in another process stops working here too. The last-used time is kept
in memory and written at most once a minute per token.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any, NamedTuple

from ..domain.models import new_id, now
from ..errors import BadRequest, Conflict, NotFound, StorageError
from .users import Accounts, User

PREFIX = "vice_"
# Characters after the prefix shown in lists, so a user can tell tokens apart (6 of 43 random ones).
HINT_CHARS = 6
MAX_TOKENS = 50
MAX_NAME = 100
MAX_TOKEN_LENGTH = 200
USED_SAVE_SECONDS = 60.0


class TokenCredential(NamedTuple):
    """What a request (or a websocket) signed in with a token carries: whose token, and which."""

    user_id: str
    token_id: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(value: Any) -> str:
    """A token's name: 1-100 characters after trimming, or a 400."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise BadRequest(f"A token's name is 1-{MAX_NAME} characters, without control characters.", field="name")
    return name


class Tokens:
    """Creates, lists, checks and revokes the API tokens of users (kept in their user files)."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self._lock = threading.Lock()
        self._index: dict[str, TokenCredential] = {}  # SHA-256 -> whose token
        self._used: dict[str, str] = {}  # token id -> last use not yet written
        self._saved: dict[str, float] = {}  # token id -> when its last use was last written (monotonic)

    # -- what users see ------------------------------------------------------------------
    def view(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A token as its owner sees it in a list: never the token or its hash."""
        with self._lock:
            pending = self._used.get(entry["id"])
        last = max(filter(None, (entry.get("last_used_at"), pending)), default=None)
        return {"id": entry["id"], "name": entry["name"], "hint": entry["hint"],
                "created_at": entry["created_at"], "last_used_at": last}

    def list(self, user: User) -> list[dict[str, Any]]:
        """The user's tokens, oldest first."""
        fresh = self.accounts.get(user.id) or user
        return [self.view(entry) for entry in fresh.tokens]

    def create(self, user_id: str, name: Any) -> tuple[dict[str, Any], str]:
        """A new token for the user: its listed view and the token itself (the only time it is seen)."""
        name = check_name(name)
        token = PREFIX + secrets.token_urlsafe(32)
        entry = {"id": new_id(), "name": name, "sha256": digest(token), "hint": token[:len(PREFIX) + HINT_CHARS],
                 "created_at": now(), "last_used_at": None}

        def add(user: User) -> None:
            if len(user.tokens) >= MAX_TOKENS:
                raise Conflict(f"A user has at most {MAX_TOKENS} tokens: revoke one first.")
            if any(t.get("name", "").lower() == name.lower() for t in user.tokens):
                raise Conflict("You already have a token with that name.", field="name")
            user.tokens = [*user.tokens, entry]

        self.accounts.update(user_id, add)
        with self._lock:
            self._index[entry["sha256"]] = TokenCredential(user_id, entry["id"])
        return self.view(entry), token

    def revoke(self, user_id: str, token_id: str) -> None:
        """Revoke one of the user's tokens at once; 404 if the user has no such token."""
        found = False

        def remove(user: User) -> None:
            nonlocal found
            kept = [t for t in user.tokens if t.get("id") != token_id]
            found = len(kept) != len(user.tokens)
            user.tokens = kept

        user = self.accounts.get(user_id)
        if user is None or not any(t.get("id") == token_id for t in user.tokens):
            raise NotFound("No such token.")
        self.accounts.update(user_id, remove)
        if not found:
            raise NotFound("No such token.")
        with self._lock:
            self._index = {h: c for h, c in self._index.items() if c.token_id != token_id}
            self._used.pop(token_id, None)
            self._saved.pop(token_id, None)

    # -- checking a request's token ------------------------------------------------------
    def _rebuild(self) -> None:
        index = {}
        for user in self.accounts.all():
            for entry in user.tokens:
                if isinstance(entry.get("sha256"), str) and isinstance(entry.get("id"), str):
                    index[entry["sha256"]] = TokenCredential(user.id, entry["id"])
        with self._lock:
            self._index = index

    def _entry(self, user: User, credential: TokenCredential, sha: str | None = None) -> dict[str, Any] | None:
        for entry in user.tokens:
            if entry.get("id") == credential.token_id and (sha is None or entry.get("sha256") == sha):
                return entry
        return None

    def authenticate(self, token: str) -> tuple[User, TokenCredential] | None:
        """The user a token belongs to (and which token it is), or None for a token that is not (or no longer) valid."""
        if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        sha = digest(token)
        with self._lock:
            credential = self._index.get(sha)
        if credential is None:
            self._rebuild()  # made in another process since
            with self._lock:
                credential = self._index.get(sha)
        if credential is None:
            return None
        user = self.accounts.get(credential.user_id)
        if user is None or self._entry(user, credential, sha) is None:
            return None  # revoked, or its user deleted (maybe in another process)
        self._mark_used(credential)
        return user, credential

    def is_valid(self, credential: TokenCredential) -> bool:
        """Whether a token still works (a websocket opened with it checks this before each command)."""
        user = self.accounts.get(credential.user_id)
        return user is not None and self._entry(user, credential) is not None

    def _mark_used(self, credential: TokenCredential) -> None:
        """Remember the use now; write it to the user's file at most once a minute per token."""
        stamp, moment = now(), time.monotonic()
        with self._lock:
            self._used[credential.token_id] = stamp
            last = self._saved.get(credential.token_id)
            if last is not None and moment - last < USED_SAVE_SECONDS:
                return
            self._saved[credential.token_id] = moment

        def record(user: User) -> None:
            entry = self._entry(user, credential)
            if entry is not None and (entry.get("last_used_at") or "") < stamp:
                entry["last_used_at"] = stamp

        try:
            self.accounts.update(credential.user_id, record)
        except KeyError:
            pass  # the user was deleted meanwhile
        except StorageError:
            with self._lock:  # a full or read-only disk must not fail a request that only reads
                self._saved.pop(credential.token_id, None)
