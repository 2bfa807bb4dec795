"""Declared inputs and answers of the API token routes (api/tokens.py)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...accounts.tokens import MAX_NAME
from ..declare import Schema
from .resources import Out


class CreateTokenIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME * 2,
                               description="What the token is for (1-100 characters), e.g. the script's name.")]


class TokenOut(Out):
    """A token as its owner sees it in a list: never the token itself."""

    id: str
    name: str
    hint: str = Field(description="The token's first characters (`vice_` and 6 more), to tell tokens apart.")
    created_at: str
    last_used_at: str | None = Field(description="Within about a minute; null when never used.")


class TokensOut(Out):
    tokens: list[TokenOut]


class NewTokenOut(Out):
    token: str = Field(description="The token: shown this once, never again (the server keeps only its hash).")
    info: TokenOut


class RevokedOut(Out):
    revoked: bool
