"""The app's one error family. Each error has a stable `code` and details; it knows nothing of HTTP.

The layers below the web (domain, storage, llm, accounts) raise these; the web
boundary (`api/errors.py`) maps each class to a status and the one JSON shape
`{"error": {"code": ..., "message": ..., ...details}}`, and the websocket sends
the same `error` object in an event.
"""
from __future__ import annotations

import math
from typing import Any


class ViceError(Exception):
    """An error reported to the caller with a stable code and a readable message."""

    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def error_object(self) -> dict[str, Any]:
        """The `error` object of the one shape (HTTP answers and websocket events)."""
        return {"code": self.code, "message": self.message, **self.details}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error_object()}


class BadRequest(ViceError):
    """The input is invalid; `field` names the part that is wrong when there is one."""

    code = "bad_request"


class BadHost(BadRequest):
    """The request names a host this server does not answer to (DNS rebinding)."""

    code = "bad_host"


class TooLarge(ViceError):
    """The input is larger than a limit; `limit` says the limit (in bytes for uploads)."""

    code = "payload_too_large"


class Unauthorized(ViceError):
    """Not signed in (pages redirect to sign-in instead)."""

    code = "unauthorized"


class Forbidden(ViceError):
    """Refused for how the request was made (cross-site, missing CSRF header), never for what it names."""

    code = "forbidden"


class NotFound(ViceError):
    """Not there, or not visible to this user: the two look the same, so ids cannot be probed."""

    code = "not_found"


class Conflict(ViceError):
    """The resource changed since the caller saw it, or the change is not possible in its state."""

    code = "conflict"


class Busy(Conflict):
    """The session is already generating a reply."""

    code = "busy"


class RateLimited(ViceError):
    """Too many requests of one kind; `retry_after` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"{message} Try again in {seconds} second{'s' if seconds != 1 else ''}.",
                         retry_after=seconds)
        self.retry_after = seconds


class ModelError(ViceError):
    """The model server failed; `retryable` says whether sending again may help, `reason` what happened."""

    code = "model_error"

    def __init__(self, message: str, *, retryable: bool = True, reason: str = "model_error", **details: Any):
        super().__init__(message, retryable=retryable, reason=reason, **details)
        self.retryable = retryable
        self.reason = reason


class StorageError(ViceError):
    """The data folder cannot take a write; `reason` says why, `retryable` whether trying later may help.

    Raised where the storage meets the OS (an `OSError` translated, as an HTTP
    client maps transport errors): nothing was written, nothing acknowledged.
    """

    code = "storage_error"

    def __init__(self, message: str, *, retryable: bool = True, reason: str = "storage_error", **details: Any):
        super().__init__(message, retryable=retryable, reason=reason, **details)
        self.retryable = retryable
        self.reason = reason


class StorageFull(StorageError):
    """The disk (or the quota) of the data folder is full: writes fail until space is freed; reads work."""

    code = "storage_full"

    def __init__(self, message: str = "The server's disk is full, so this change was not saved. "
                 "Nothing that was saved before is lost; try again once space has been freed.") -> None:
        super().__init__(message, retryable=True, reason="storage_full")


class StorageReadOnly(StorageError):
    """The data folder is read-only: the app serves what is stored and refuses changes."""

    code = "storage_read_only"

    def __init__(self, message: str = "The server's data folder is read-only, so nothing can be changed "
                 "right now; everything stored can still be read.") -> None:
        super().__init__(message, retryable=True, reason="read_only")


class StorageGone(StorageError):
    """The data folder was deleted or replaced while the server ran: nothing more is written until a restart."""

    code = "storage_gone"

    def __init__(self, message: str = "The server's data folder was deleted or replaced while the server was "
                 "running, so this change was not saved. An administrator must restore it and restart "
                 "the server.") -> None:
        super().__init__(message, retryable=False, reason="storage_gone")


class Unavailable(ViceError):
    """A service the app depends on (Redis, when `REDIS_URL` is set) cannot be reached: try again later."""

    code = "unavailable"

    def __init__(self, message: str, *, reason: str = "unavailable", **details: Any) -> None:
        super().__init__(message, retryable=True, reason=reason, **details)
        self.reason = reason
