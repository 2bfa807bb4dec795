"""Journal records of a chat session: how a change is applied in memory, and a snapshot's data.

A record is `{"seq", "at", "op": "message", "message": {...}}` (add or replace
a message by id), `{"seq", "at", "op": "text", "message_id": id, "text": "..."}`
(text added to a reply while it streams: its checkpoints, each redacted on its
own; the final reply is a `message` record again) or
`{"seq", "at", "op": "set", "fields": {...}}` (top-level fields in `ChatSession.SETTABLE`).
"""
from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

from .models import MESSAGE_FIELDS, ChatSession, Message

_SESSION_FIELDS = tuple(f.name for f in fields(ChatSession))


def snapshot_data(session: ChatSession) -> dict[str, Any]:
    """What `session.to_dict()` gives, without its deep copy: for serializing at once, under the lock.

    A compaction of a 10,000-message session spends most of its time in
    dataclasses.asdict copying what json.dumps is about to read anyway.
    """
    data = {name: getattr(session, name) for name in _SESSION_FIELDS}
    data["messages"] = [{name: getattr(m, name) for name in MESSAGE_FIELDS} for m in session.messages]
    return data


def apply_record(session: ChatSession, record: dict[str, Any], trusted: bool = False) -> None:
    """Apply one journal record to a session in memory (`trusted`: built by this process just now)."""
    op = record["op"]
    if op == "message":
        # Our own record holds exactly Message's fields; one read from disk may
        # come from another version, so it goes through from_dict's filter.
        data = record["message"]
        session.upsert_message(Message(**data) if trusted else Message.from_dict(data))
    elif op == "text":
        found = session.get_message(record["message_id"])
        if found is not None:  # a changed copy: whoever holds the old one keeps what it read
            grown = copy.copy(found)
            grown.content = (found.content or "") + record["text"]
            session.upsert_message(grown)
    elif op == "set":
        for name, value in record["fields"].items():
            if name in ChatSession.SETTABLE:
                setattr(session, name, value)
    else:
        raise ValueError(f"unknown journal op {op!r}")
    session.updated_at = record.get("at", session.updated_at)
