"""The documents a user may see, a page at a time: most recently changed first, with an opaque cursor.

The order is (`updated_at`, id), newest first, and a cursor names the last
document of a page by that pair, so the next page starts right after it whatever
was created or deleted meanwhile: nothing is listed twice and nothing that stayed
put is skipped. A document changed while a client pages moves to the top (where
a reload shows it). The access rules are asked once per request, not per document.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..accounts.identity import current_user
from ..errors import BadRequest
from ..services import services

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(updated_at: str, doc_id: str) -> str:
    raw = json.dumps([updated_at, doc_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (updated_at, id) a cursor names; a cursor this server did not make is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, doc_id = json.loads(raw)
        if isinstance(updated_at, str) and isinstance(doc_id, str):
            return updated_at, doc_id
    except (binascii.Error, ValueError, TypeError):
        pass
    raise BadRequest("'cursor' is not a cursor this list gave.", field="cursor")


def document_page(limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
    """`{"documents": [summary + access], "has_more", "next_cursor"}` for the current user."""
    after = decode_cursor(cursor) if cursor is not None else None
    found = services()
    docs = found.state.document_cards()
    levels = found.access.document_levels(docs, current_user())
    visible = sorted(((d.updated_at, d.id, d, level) for d, level in zip(docs, levels, strict=True) if level),
                     key=lambda row: (row[0], row[1]), reverse=True)
    if after is not None:
        visible = [row for row in visible if (row[0], row[1]) < after]
    page, has_more = visible[:limit], len(visible) > limit
    return {
        "documents": [{**d.summary(), "access": level} for _, _, d, level in page],
        "has_more": has_more,
        "next_cursor": encode_cursor(page[-1][0], page[-1][1]) if has_more else None,
    }
