"""Which sockets a sign-out or a revoked token closes, as data: the same description applies in every process.

`Hub.disconnect(match, error)` takes any callable; a `Revocation` is one that
can also be sent to the other processes (`to_wire`, `from_wire`), so with
Redis the sockets of a signed-out user close in every process at once.
Credentials are compared as tuples (a sign-in's and a token's are named tuples).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Revocation:
    """Sockets of `user_id` opened with a sign-in: all of them but `keep`'s, or only `only`'s;
    or, with `token`, those opened with that API token."""

    user_id: str
    keep: tuple[Any, ...] | None = None
    only: tuple[Any, ...] | None = None
    token: tuple[Any, ...] | None = None

    def __call__(self, sub: Any) -> bool:
        credential = getattr(sub, "credential", None)
        if credential is None or getattr(credential, "user_id", None) != self.user_id:
            return False
        if self.token is not None:
            return tuple(credential) == self.token
        if not hasattr(credential, "sign_in"):  # an API token's socket: sign-outs leave it open
            return False
        if self.only is not None:
            return tuple(credential) == self.only
        return self.keep is None or tuple(credential) != self.keep

    def to_wire(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "keep": self.keep, "only": self.only, "token": self.token}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Revocation:
        def as_tuple(value: Any) -> tuple[Any, ...] | None:
            return tuple(value) if value is not None else None

        return cls(str(data["user_id"]), as_tuple(data.get("keep")), as_tuple(data.get("only")),
                   as_tuple(data.get("token")))
