"""Rate limits (the `limits` package, moving windows): messages per user, sign-in attempts.

In memory, or with `REDIS_URL` in Redis (`limits`' Redis storage), so that every
process of the app counts against the same budgets; while Redis cannot be
reached, a request that needs a limit answers 503 (`Unavailable`) at once.

Sending a message (or asking for a reply again) costs model time, so each
user has a budget (HTTP and websocket alike). Sign-in is limited per IP (every
attempt), per username and IP (failed attempts: guessing from one machine is
slow, and it cannot lock the account's owner out from their own address), and
per username from anywhere (failed attempts, a slower cap against guessing
from many machines). Sharing with a username that does not exist is limited
per user, so usernames cannot be listed quickly. Local mode has one user and no
sign-in, so nothing there is limited.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import RateLimited, Unavailable

T = TypeVar("T")
# Seconds a Redis command of the limiter may take (then 503, never a hang).
REDIS_TIMEOUT = 3.0


def parse_limits(name: str, value: str | None) -> list[RateLimitItem]:
    """'30/minute;300/hour' -> limits; '', '0' or 'off' -> none."""
    if value is None or value.strip().lower() in ("", "0", "off", "none"):
        return []
    try:
        return parse_many(value)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a rate limit like '30/minute;300/hour'") from exc


class RateLimits:
    """The app's limiters: one moving-window store, in memory or (`storage`: a `redis://` URL) in Redis."""

    def __init__(self, messages: str | None, signin: str | None, signin_ip: str | None,
                 signin_user: str | None = None, share_misses: str | None = None, enabled: bool = True,
                 storage: str | None = None) -> None:
        store: Storage | Any = MemoryStorage()
        if storage:
            store = storage_from_string(storage, key_prefix="vice:limits", wrap_exceptions=True,
                                        socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        self.limiter = MovingWindowRateLimiter(store)
        self.messages = parse_limits("RATE_MESSAGES", messages) if enabled else []
        self.signin = parse_limits("RATE_SIGNIN", signin) if enabled else []
        self.signin_ip = parse_limits("RATE_SIGNIN_IP", signin_ip) if enabled else []
        self.signin_user = parse_limits("RATE_SIGNIN_USER", signin_user) if enabled else []
        self.share_misses = parse_limits("RATE_SHARE_MISSES", share_misses) if enabled else []

    @staticmethod
    def _reach(call: Callable[[], T]) -> T:
        """One call to the store; its storage failing (Redis down) is the app's 503."""
        try:
            return call()
        except StorageError as exc:
            raise Unavailable("The rate limits cannot be checked: Redis is not reachable.", reason="redis") from exc

    def _refuse_if_spent(self, items: list[RateLimitItem], key: tuple[str, ...], message: str) -> None:
        for item in items:
            if not self._reach(lambda: self.limiter.test(item, *key)):  # noqa: B023 (called at once)
                reset = self._reach(lambda: self.limiter.get_window_stats(item, *key)).reset_time  # noqa: B023
                raise RateLimited(message, reset - time.time())

    def _hit(self, items: list[RateLimitItem], key: tuple[str, ...]) -> None:
        for item in items:
            self._reach(lambda: self.limiter.hit(item, *key))  # noqa: B023 (called at once)

    def message(self, user_id: str) -> None:
        """Count one message (or retry) of a user; 429 once the budget is spent."""
        key = ("message", user_id)
        self._refuse_if_spent(self.messages, key, "You are sending messages too fast.")
        self._hit(self.messages, key)

    @staticmethod
    def _name(username: str) -> str:
        return username.lower()  # usernames are case-insensitive (accounts.users)

    def signin_attempt(self, ip: str | None, username: str) -> None:
        """Count a sign-in attempt from an IP; 429 if the IP, this username from this IP, or the username is spent."""
        where, name = ip or "?", self._name(username)
        self._refuse_if_spent(self.signin_ip, ("signin-ip", where), "Too many sign-in attempts from here.")
        self._hit(self.signin_ip, ("signin-ip", where))
        self._refuse_if_spent(self.signin, ("signin-pair", name, where),
                              "Too many failed sign-ins for this username from here.")
        self._refuse_if_spent(self.signin_user, ("signin-user", name),
                              "Too many failed sign-ins for this username.")

    def signin_failed(self, ip: str | None, username: str) -> None:
        """Count a failed password: for this username from this IP, and for the username from anywhere."""
        name = self._name(username)
        self._hit(self.signin, ("signin-pair", name, ip or "?"))
        self._hit(self.signin_user, ("signin-user", name))

    def share_lookup(self, user_id: str) -> None:
        """429 if a user named too many unknown usernames when sharing (so usernames cannot be listed quickly)."""
        self._refuse_if_spent(self.share_misses, ("share-miss", user_id),
                              "Too many share requests for usernames that do not exist.")

    def share_missed(self, user_id: str) -> None:
        """Count a share request that named no existing user."""
        self._hit(self.share_misses, ("share-miss", user_id))
