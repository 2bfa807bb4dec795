"""Rate limits (the `limits` package, moving windows, in memory): messages per user, sign-in attempts.

Sending a message (or asking for a reply again) costs model time, so each
user has a budget (HTTP and websocket alike). Sign-in is limited per IP (every
attempt) and per username (failed attempts), so guessing passwords is slow
from one machine and slow against one account from many. Local mode has one
user and no sign-in, so nothing there is limited.
"""
from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ..errors import RateLimited


def parse_limits(name: str, value: str | None) -> list[RateLimitItem]:
    """'30/minute;300/hour' -> limits; '', '0' or 'off' -> none."""
    if value is None or value.strip().lower() in ("", "0", "off", "none"):
        return []
    try:
        return parse_many(value)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a rate limit like '30/minute;300/hour'") from exc


class RateLimits:
    """The app's limiters: one in-memory moving-window store."""

    def __init__(self, messages: str | None, signin_user: str | None, signin_ip: str | None,
                 enabled: bool = True) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.messages = parse_limits("RATE_MESSAGES", messages) if enabled else []
        self.signin_user = parse_limits("RATE_SIGNIN", signin_user) if enabled else []
        self.signin_ip = parse_limits("RATE_SIGNIN_IP", signin_ip) if enabled else []

    def _refuse_if_spent(self, items: list[RateLimitItem], key: tuple[str, ...], message: str) -> None:
        for item in items:
            if not self.limiter.test(item, *key):
                reset = self.limiter.get_window_stats(item, *key).reset_time
                raise RateLimited(message, reset - time.time())

    def _hit(self, items: list[RateLimitItem], key: tuple[str, ...]) -> None:
        for item in items:
            self.limiter.hit(item, *key)

    def message(self, user_id: str) -> None:
        """Count one message (or retry) of a user; 429 once the budget is spent."""
        key = ("message", user_id)
        self._refuse_if_spent(self.messages, key, "You are sending messages too fast.")
        self._hit(self.messages, key)

    def signin_attempt(self, ip: str | None, username: str) -> None:
        """Count a sign-in attempt from an IP; 429 if the IP or the username is over its limit."""
        self._refuse_if_spent(self.signin_ip, ("signin-ip", ip or "?"), "Too many sign-in attempts from here.")
        self._hit(self.signin_ip, ("signin-ip", ip or "?"))
        self._refuse_if_spent(self.signin_user, ("signin-user", username.lower()),
                              "Too many failed sign-ins for this username.")

    def signin_failed(self, username: str) -> None:
        """Count a failed password for a username."""
        self._hit(self.signin_user, ("signin-user", username.lower()))
