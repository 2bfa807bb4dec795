"""The auth package's errors: in the app's one error family and JSON shape."""
from __future__ import annotations

import math

from ..errors import ApiError


class Unauthorized(ApiError):
    """Not signed in (the only 401 the app answers; pages redirect to sign-in instead)."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """A request refused for how it was made (cross-site, missing CSRF header), never for what it names."""

    status = 403
    code = "forbidden"


class RateLimited(ApiError):
    """Too many requests of one kind; `retry_after` (and the Retry-After header) says when to try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"{message} Try again in {seconds} second{'s' if seconds != 1 else ''}.",
                         retry_after=seconds)
        self.retry_after = seconds
