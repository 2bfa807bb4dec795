"""Where a section's text came from: its blame (domain/blame.py) as the API shows it, and the versions a chat made.

A version's `source` as stored says what made it: {"kind": "edit" | "revert" |
"chat" | ..., "user"?, "session_id"?, "message_id"?, "suggestion_id"?,
"from_version"?}. It is told here as one of `created`, `edit`, `revert`,
`reply` (a chat reply applied), `suggestion` (a proposed edit accepted), or the
stored kind as it is for kinds added later; with the chat's title when the
user may read it, and the username of who made it (`null` when the version is
older than that record, or the account is gone).

Blames are computed once per section version and kept (a bounded LRU): a
section's history only grows, so (section, version, history length) names one
result for good.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..accounts.users import LOCAL_ID
from ..errors import NotFound
from ..services import services
from .blame import Paragraph, blame
from .models import Section
from .resources import load_document, load_section, load_session

CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, int, int, int | None], list[Paragraph]] = OrderedDict()
_cache_lock = threading.Lock()


def section_blame(section: Section, upto: int | None = None) -> list[Paragraph]:
    """The section's paragraphs with who wrote them (as of version `upto`, default the current one), cached."""
    key = (section.id, section.version, len(section.history), upto)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    result = blame(section.history, upto)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


class _Describer:
    """Tells history entries as the API shows them, looking each chat and user up once per answer."""

    def __init__(self, history: list[dict[str, Any]]) -> None:
        self.history = history
        self.titles: dict[str, str | None] = {}
        self.names: dict[str, str | None] = {}

    def title(self, session_id: str) -> str | None:
        if session_id not in self.titles:
            try:
                self.titles[session_id] = load_session(session_id).title
            except NotFound:
                self.titles[session_id] = None  # deleted, or not one the caller may read
        return self.titles[session_id]

    def username(self, user_id: str) -> str | None:
        if user_id not in self.names:
            user = services().accounts.get(user_id) if user_id != LOCAL_ID else None
            self.names[user_id] = user.username if user is not None else None
        return self.names[user_id]

    def source(self, index: int) -> dict[str, Any]:
        stored = self.history[index].get("source") or {}
        kind = str(stored.get("kind") or "edit")
        if kind == "chat":
            kind = "suggestion" if stored.get("suggestion_id") else "reply"
        elif kind == "edit" and index == 0:
            kind = "created"
        out: dict[str, Any] = {"kind": kind}
        for name in ("session_id", "message_id", "suggestion_id", "mode", "from_version", "user"):
            if stored.get(name) is not None:
                out[name] = stored[name]
        session_id = out.get("session_id")
        if isinstance(session_id, str):
            out["session_title"] = self.title(session_id)
        user = out.get("user")
        out["username"] = self.username(user) if isinstance(user, str) else None
        return out

    def version(self, index: int) -> dict[str, Any]:
        entry = self.history[index]
        return {"version": entry["version"], "created_at": entry["created_at"], "summary": entry.get("summary", ""),
                "source": self.source(index)}


def blame_view(doc_id: str, section_id: str, upto: int | None = None) -> dict[str, Any]:
    """The blame of a section the caller may read: its paragraphs, each with the version that last changed it."""
    section = load_section(load_document(doc_id), section_id)
    if upto is not None and not any(v.get("version") == upto for v in section.history):
        raise NotFound(f"Section has no version {upto}.")
    paragraphs = section_blame(section, upto)
    tell = _Describer(section.history)
    versions: dict[int, dict[str, Any]] = {}

    def entry(index: int) -> dict[str, Any]:
        if index not in versions:
            versions[index] = tell.version(index)
        return versions[index]

    shown = []
    for p in paragraphs:
        item = {"text": p.text, "start": p.start, "end": p.end, **entry(p.by),
                "origin": entry(p.origin) if p.origin is not None else None,
                "sentences": [{"text": s.text, "start": s.start, "end": s.end,
                               "version": entry(s.by)["version"]} for s in p.sentences]}
        shown.append(item)
    return {"document_id": doc_id, "section_id": section.id, "current_version": section.version,
            "version": upto if upto is not None else section.version, "paragraphs": shown,
            "versions": sorted(versions.values(), key=lambda v: v["version"])}


def produced_versions(session_id: str, message_id: str | None = None) -> dict[str, Any]:
    """The section versions a chat's messages made (or one message's; 404 if the chat has no such message).

    Each says how many paragraphs of the current text still come from it (`paragraphs_now`).
    """
    session = load_session(session_id)
    if message_id is not None and session.get_message(message_id) is None:
        raise NotFound("No message with that id in this chat.")
    section = load_section(load_document(session.document_id), session.section_id)
    current = section_blame(section)
    tell = _Describer(section.history)
    found = []
    for index, entry in enumerate(section.history):
        source = entry.get("source") or {}
        if source.get("session_id") != session.id or not source.get("message_id"):
            continue
        if message_id is not None and source["message_id"] != message_id:
            continue
        still = sum(1 for p in current if index in (p.by, p.origin) or any(s.by == index for s in p.sentences))
        found.append({**tell.version(index), "message_id": source["message_id"], "paragraphs_now": still})
    return {"session_id": session.id, "document_id": session.document_id, "section_id": session.section_id,
            "current_version": section.version, "versions": found}
