"""When the model server failed before any of the reply reached the user: whether, and when, to ask again.

A failed attempt is tried again only while nothing of the reply was shown
(the backend decides that; this module never sees text), only for failures
that may pass: the connection refused, reset or lost, a timeout, an HTTP 408,
409, 429, 500, 502, 503, 504 or 529, an error chunk, a malformed chunk, a
stream that ended without a finish reason. Never a 400, 401, 403, 404, 413
or 422: the same request would fail the same way.

The wait is what the server asked (`Retry-After`, with a little jitter on top)
or else an exponential back-off with jitter (0.25-0.5 s, then 0.5-1 s, 1-2 s,
... at most 8 s), each at least GROWTH times the one before: two draws at the
edges (0.5 s, then 0.5 s) would make a retry at a constant interval (llmock's
`no_backoff` finding). Bounds: at most `MAX_ATTEMPTS` attempts, at most `budget`
seconds of waiting in all (VICE_AI_MAX_RETRY_AFTER), and no new attempt once
`deadline` seconds (VICE_AI_REQUEST_TIMEOUT) have passed since the first. A
wait the server asks for that does not fit is not waited at all: the error
says so at once.
"""
from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

from ..errors import ModelError

MAX_ATTEMPTS = 6
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 8.0
GROWTH = 1.25
# Statuses worth another try; any other status is reported at once.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
RETRY_REASONS = frozenset({"connection", "timeout", "stalled", "bad_stream", "truncated", "rate_limited",
                           "server_error"})

_NOTICE = {
    "connection": "The connection to the model server failed before the reply started",
    "timeout": "The model server did not answer in time",
    "stalled": "The model server went silent before the reply started",
    "bad_stream": "The model server sent a broken chunk before the reply started",
    "truncated": "The model server ended the stream before the reply started",
    "rate_limited": "The model server is busy (429)",
}


def seconds(value: float) -> str:
    """A duration for people: "1 second", "0.3 seconds", "12 seconds"."""
    shown = round(value, 1) if value < 10 else round(value)
    return f"{shown:g} second" + ("" if shown == 1 else "s")


def worth_retrying(err: ModelError) -> bool:
    """Whether the same request may succeed if sent again (the reply not having started)."""
    if not err.retryable or err.reason not in RETRY_REASONS:
        return False
    status = err.details.get("status_code")
    return status is None or status in RETRY_STATUSES


class RetryPlan:
    """The retries of one model request: counts the attempts and the waiting, picks each wait."""

    def __init__(self, budget: float, deadline: float, *, rng: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = max(0.0, budget)
        self.deadline = deadline
        self.rng = rng
        self.clock = clock
        self.started = clock()
        self.failures = 0
        self.waited = 0.0
        self.asked: float | None = None
        self.backoff = 0.0  # the last back-off waited (not a wait the server asked for)

    def wait_for(self, err: ModelError, asked: float | None = None) -> float | None:
        """Seconds to wait before the next attempt after `err`, or None: report the error (`final_error`)."""
        self.failures += 1
        self.asked = asked
        if not worth_retrying(err) or self.failures >= MAX_ATTEMPTS:
            return None
        left = self.budget - self.waited
        if asked is not None:
            if asked > left:
                return None
            delay = min(asked + min(1.0, asked * 0.1) * self.rng(), left)
        else:
            ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (self.failures - 1))
            delay = min(BACKOFF_CAP, max(ceiling / 2 + self.rng() * ceiling / 2, self.backoff * GROWTH))
            if delay > left:
                return None
            self.backoff = delay
        if self.clock() - self.started + delay > self.deadline:
            return None
        self.waited += delay
        return delay

    def notice(self, err: ModelError, delay: float) -> str:
        """What the tabs are told while the app waits."""
        status = err.details.get("status_code")
        what = _NOTICE.get(err.reason) or (f"The model server failed ({status})" if status
                                           else "The model server reported an error")
        return f"{what}; trying again in {seconds(delay)}."

    def final_error(self, err: ModelError) -> ModelError:
        """The error to report once the plan gives up: `err`, saying what was tried when that matters."""
        if not worth_retrying(err):
            return err
        budget = seconds(self.budget)
        details = {k: v for k, v in err.details.items() if k not in ("retryable", "reason")}
        if self.asked is not None and self.asked > self.budget - self.waited:
            details["retry_after"] = max(1, math.ceil(self.asked))
            if self.failures == 1:
                message = (f"{err.message} It asked to wait {seconds(self.asked)}, longer than this app waits "
                           f"in all ({budget}). Try again later.")
                return ModelError(message, reason=err.reason, retryable=True, **details)
        elif self.failures == 1:
            return err
        tries = f"{self.failures} tries over {seconds(self.clock() - self.started)}"
        if err.reason == "rate_limited":
            message = (f"The model server kept refusing with 429 (too many requests): {tries}, and this app "
                       f"waits at most {budget} in all. Try again later.")
        else:
            message = f"{err.message} ({tries}.)"
        return ModelError(message, reason=err.reason, retryable=True, **details)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, `Retry-After` (seconds or a date), or None."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
