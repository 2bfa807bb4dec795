"""Accounts: one JSON file per user under <data>/users/, passwords hashed with werkzeug.security.

Files are written with the store's atomic snapshots and guarded by its sidecar
locks, like documents. Every process keeps the users it has read in memory and
re-reads a file only when it changed on disk (its stat or its lock file's
write counter moved: another process may have written it), so a sign-out or a
password change in any process ends the sign-ins it ends in every process.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.models import is_id, new_id, now
from ..errors import BadRequest, Conflict, StorageError
from ..storage.files import CorruptFile
from ..storage.store import Store

KIND = "users"
LOCAL_ID = "local"
# The local user is not an account, but its preferences are kept in a file of its own.
LOCAL_FILE = "00000000-0000-4000-8000-000000000000"
# Held while creating an account, so two processes never create the same username twice.
REGISTRY_LOCK = "00000000-0000-4000-8000-000000000001"
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# Last activity is kept in memory and written at most this often per user.
ACTIVITY_SAVE_SECONDS = 300.0
# Signed-in browsers one user may have at once; a new sign-in beyond this ends the oldest.
MAX_SIGN_INS = 50


@dataclass
class User:
    id: str
    username: str
    password_hash: str | None = None
    is_admin: bool = False
    created_at: str = field(default_factory=now)
    # Preferences: the model new chats use; None = the server's default.
    model: str | None = None
    last_activity: str | None = None
    # Bumped by a password change and by "sign out everywhere": cookies made with an older value stop working.
    token_version: int = 0
    # The browsers signed in now: sign-in id -> when it began. A cookie works only while its id is here,
    # so signing out on the server ends that cookie wherever a copy of it is.
    sign_ins: dict[str, str] = field(default_factory=dict)
    # API tokens for scripts (see `tokens`): id, name, SHA-256 of the token, a hint, created and last used.
    tokens: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The user as other users and the API see it (never the hash)."""
        return {"id": self.id, "username": self.username, "is_admin": self.is_admin,
                "created_at": self.created_at, "last_activity": self.last_activity}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_signed_in(self, token_version: Any, sign_in_id: Any) -> bool:
        """Whether a browser's sign-in (the generation and the id its cookie carries) is still current."""
        return (token_version == self.token_version and isinstance(sign_in_id, str)
                and sign_in_id in self.sign_ins)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def check_username(value: Any) -> str:
    """A valid username or a 400 naming the rule."""
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise BadRequest("A username is 1-64 letters, digits or . _ @ + - and starts with a letter or digit.",
                         field="username")
    return value


def check_password(value: Any, name: str = "password") -> str:
    """A password of acceptable length or a 400."""
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise BadRequest(f"A password has at least {MIN_PASSWORD} characters.", field=name)
    return value


def _end_all(user: User) -> None:
    user.token_version += 1
    user.sign_ins = {}


class Accounts:
    """Creates, finds and updates users; authenticates passwords."""

    def __init__(self, store: Store, password_method: str = "scrypt") -> None:
        self.store = store
        self.password_method = password_method
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._keys: dict[str, tuple[Any, ...]] = {}
        self._by_name: dict[str, str] = {}
        self._activity_saved: dict[str, float] = {}
        self._dummy_hash: str | None = None

    # -- reading --------------------------------------------------------------------
    def _refresh(self, file_id: str) -> User | None:
        """The user in file `file_id`, re-read only when the file changed."""
        stat = self.store.snapshot_key(KIND, file_id)
        # The lock file's write counter too: a rewrite can keep inode, mtime and size.
        key = None if stat is None else (stat, self.store.generations(KIND, file_id))
        with self._lock:
            if key is None:
                old = self._users.pop(file_id, None)
                self._keys.pop(file_id, None)
                if old is not None:
                    self._by_name.pop(old.username.lower(), None)
                return None
            if self._keys.get(file_id) == key:
                return self._users[file_id]
            try:
                snap = self.store.read_snapshot(KIND, file_id)
                user = User.from_dict(snap.data) if snap is not None else None
            except (CorruptFile, KeyError, TypeError, ValueError) as exc:
                self.store.quarantine(KIND, file_id, str(exc))
                return None
            if user is None:
                return None
            cached = self._users.get(file_id)
            if cached is not None and (cached.last_activity or "") > (user.last_activity or ""):
                user.last_activity = cached.last_activity  # newer, and not written yet
            self._users[file_id] = user
            self._keys[file_id] = key
            if file_id != LOCAL_FILE:
                self._by_name[user.username.lower()] = file_id
            return user

    def _scan(self) -> list[User]:
        found = [self._refresh(i) for i in self.store.ids(KIND) if i != LOCAL_FILE]
        return [u for u in found if u is not None]

    def get(self, user_id: str) -> User | None:
        """The user with this id (the implicit local user for "local"), or None."""
        if user_id == LOCAL_ID:
            return self.local_user()
        if not is_id(user_id) or user_id == LOCAL_FILE:
            return None
        return self._refresh(user_id)

    def local_user(self) -> User:
        """The single user of local mode: an admin that owns everything, with its own preferences."""
        user = self._refresh(LOCAL_FILE)
        if user is None:
            with self._lock:
                user = self._users.setdefault(LOCAL_FILE, User(id=LOCAL_ID, username=LOCAL_ID, is_admin=True))
        return user

    def by_username(self, username: str) -> User | None:
        """The account with this username (case-insensitive), or None."""
        with self._lock:
            file_id = self._by_name.get(username.lower())
        user = self._refresh(file_id) if file_id else None
        if user is None or user.username.lower() != username.lower():
            self._scan()  # another process may have created (or renamed) it
            with self._lock:
                file_id = self._by_name.get(username.lower())
            user = self._refresh(file_id) if file_id else None
        return user

    def all(self) -> list[User]:
        """Every account, oldest first."""
        return sorted(self._scan(), key=lambda u: u.created_at)

    def count(self) -> int:
        return len(self.store.ids(KIND)) - (1 if self.store.exists(KIND, LOCAL_FILE) else 0)

    def first_admin(self) -> User | None:
        """The oldest admin: it inherits what local mode created, when a server moves to accounts."""
        admins = [u for u in self.all() if u.is_admin]
        return admins[0] if admins else None

    # -- writing --------------------------------------------------------------------
    def _save(self, file_id: str, user: User) -> None:
        key = (self.store.write_snapshot(KIND, file_id, user.to_dict()), self.store.generations(KIND, file_id))
        with self._lock:
            self._users[file_id] = user
            self._keys[file_id] = key
            if file_id != LOCAL_FILE:
                self._by_name[user.username.lower()] = file_id

    def create(self, username: Any, password: Any, *, is_admin: bool = False, first_only: bool = False,
               with_password: bool = True) -> User:
        """Create an account; the very first one is always an admin. 409 if the name is taken.

        `first_only` refuses (409) when an account already exists: two people
        racing through first-run setup cannot both become admin.
        """
        username = check_username(username)
        password_hash = None
        if with_password:
            password_hash = generate_password_hash(check_password(password), method=self.password_method)
        with self._lock, self.store.lock(KIND, REGISTRY_LOCK):
            existing = self._scan()
            if first_only and existing:
                raise Conflict("This server already has accounts: sign in instead.")
            if any(u.username.lower() == username.lower() for u in existing):
                raise Conflict("That username is taken.", field="username")
            user = User(id=new_id(), username=username, password_hash=password_hash,
                        is_admin=is_admin or not existing)
            with self.store.lock(KIND, user.id):
                self._save(user.id, user)
        return user

    def update(self, user_id: str, change: Callable[[User], None]) -> User:
        """Read-modify-write one user under its locks (the local user too)."""
        file_id = LOCAL_FILE if user_id == LOCAL_ID else user_id
        with self._lock, self.store.lock(KIND, file_id):
            current = self.local_user() if user_id == LOCAL_ID else self._refresh(file_id)
            if current is None:
                raise KeyError(user_id)
            user = User.from_dict(current.to_dict())
            change(user)
            self._save(file_id, user)
        return user

    def set_admin(self, user_id: str, is_admin: bool) -> User:
        """Make a user an admin or not; 409 when that would leave the server without an admin.

        Held under the registry lock, so two admins removing each other at once cannot both succeed."""
        with self._lock, self.store.lock(KIND, REGISTRY_LOCK):
            admins = [u.id for u in self._scan() if u.is_admin]
            if not is_admin and admins == [user_id]:
                raise Conflict("This is the last admin: make someone else an admin first.", field="is_admin")
            return self.update(user_id, lambda u: setattr(u, "is_admin", is_admin))

    def set_password(self, user_id: str, password: Any) -> User:
        """Change a password; every sign-in of the user ends (the caller may start a new one)."""
        password_hash = generate_password_hash(check_password(password, "new_password"), method=self.password_method)

        def change(user: User) -> None:
            user.password_hash = password_hash
            _end_all(user)

        return self.update(user_id, change)

    # -- sign-ins: which browsers are signed in ----------------------------------------
    def start_sign_in(self, user_id: str, lifetime_days: float) -> tuple[User, str]:
        """Record a new signed-in browser; returns the user and the sign-in's id (its cookie keeps it).

        Sign-ins older than the cookie lifetime are forgotten, and beyond
        MAX_SIGN_INS the oldest ends.
        """
        sign_in_id = secrets.token_urlsafe(18)
        started = now()
        expired = (datetime.now(UTC) - timedelta(days=lifetime_days)).isoformat(timespec="milliseconds")
        expired = expired.replace("+00:00", "Z")

        def change(user: User) -> None:
            # Oldest first; sign-ins of the same millisecond keep the order they were made in (a stable sort).
            live = sorted(((when, key) for key, when in user.sign_ins.items() if when >= expired), key=lambda p: p[0])
            kept = live[len(live) - (MAX_SIGN_INS - 1):] if len(live) >= MAX_SIGN_INS else live
            user.sign_ins = {key: when for when, key in kept}
            user.sign_ins[sign_in_id] = started

        return self.update(user_id, change), sign_in_id

    def end_sign_in(self, user_id: str, sign_in_id: str) -> None:
        """End one browser's sign-in (its cookie, and every copy of it, stops working)."""
        def change(user: User) -> None:
            user.sign_ins.pop(sign_in_id, None)

        try:
            self.update(user_id, change)
        except KeyError:
            pass  # the account is gone: nothing is signed in

    def end_all_sign_ins(self, user_id: str) -> User:
        """Sign the user out of every browser."""
        return self.update(user_id, _end_all)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way: names cannot be probed)."""
        user = self.by_username(username) if isinstance(username, str) and USERNAME.fullmatch(username) else None
        if user is None or not user.password_hash:
            if self._dummy_hash is None:
                self._dummy_hash = generate_password_hash(secrets.token_hex(16), method=self.password_method)
            check_password_hash(self._dummy_hash, password if isinstance(password, str) else "")
            return None
        if not isinstance(password, str) or not check_password_hash(user.password_hash, password):
            return None
        return user

    def touch(self, user: User) -> None:
        """Record activity now: in memory at once, on disk at most every few minutes."""
        user.last_activity = now()
        moment = time.monotonic()
        with self._lock:
            last = self._activity_saved.get(user.id)
            if last is not None and moment - last < ACTIVITY_SAVE_SECONDS:
                return
            self._activity_saved[user.id] = moment
        stamp = user.last_activity
        try:
            self.update(user.id, lambda u: setattr(u, "last_activity", stamp))
        except KeyError:
            pass  # deleted meanwhile
        except StorageError:
            # A full or read-only disk must not fail the request that only came to read;
            # the time stays in memory and is written with the next change that can be.
            with self._lock:
                self._activity_saved.pop(user.id, None)
