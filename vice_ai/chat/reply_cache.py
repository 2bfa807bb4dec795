"""Final replies' HTML, remembered by message id, bounded in bytes, forgotten with their chat.

A final reply is rendered (Markdown -> sanitized HTML, `render.py`) once, then
served from here on every read of its chat. The cache counts the bytes of the
strings it holds (the Markdown it was made from and the HTML: `sys.getsizeof`,
what they take in memory) and drops the least recently used entries beyond
`max_bytes` (VICE_AI_REPLY_CACHE_BYTES). Each entry belongs to a chat of a
document: a deleted chat's or document's entries, and an unloaded chat's (its
next read loads it from disk and renders again anyway), go at once instead of
waiting for the LRU (see `forget`, wired to AppState's events in the app
factory).
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# What an entry costs besides its two strings: the key, the tuple, the ordered dict's and the indexes' slots.
ENTRY_OVERHEAD = 200
DEFAULT_BYTES = 4 * 1024 * 1024

Owner = tuple[str, str]  # (document id, session id)


class ReplyCache:
    """HTML by message id, at most `max_bytes` in all, least recently used dropped first. An entry keeps the Markdown
    it was made from: a reply whose text changed (continued, redacted, replaced) renders anew, never stale."""

    def __init__(self, render: Callable[[str], str], max_bytes: int = DEFAULT_BYTES) -> None:
        self._render = render
        self.max_bytes = max_bytes
        # message id -> (markdown, html, owner, bytes)
        self._items: OrderedDict[str, tuple[str, str, Owner, int]] = OrderedDict()
        self._by_session: dict[str, set[str]] = {}  # session id -> its message ids held
        self._by_document: dict[str, set[str]] = {}  # document id -> its session ids held
        self.size = 0
        self._lock = threading.Lock()
        self.renders = 0

    def __len__(self) -> int:
        return len(self._items)

    def html(self, message_id: str, content: str, owner: Owner | None = None) -> str:
        """The reply's HTML; remembered under `owner` (document id, session id). Without an owner it is only
        looked up: whatever is kept can be forgotten with its chat."""
        with self._lock:
            found = self._items.get(message_id)
            if found is not None and found[0] == content:  # usually the same str object: a pointer compare
                self._items.move_to_end(message_id)
                return found[1]
        html = self._render(content)
        with self._lock:
            self.renders += 1
            if owner is None:
                return html
            self._pop(message_id)
            size = sys.getsizeof(content) + sys.getsizeof(html) + ENTRY_OVERHEAD
            if size > self.max_bytes:
                return html
            self._items[message_id] = (content, html, owner, size)
            self._by_session.setdefault(owner[1], set()).add(message_id)
            self._by_document.setdefault(owner[0], set()).add(owner[1])
            self.size += size
            while self.size > self.max_bytes:
                self._pop(next(iter(self._items)))
        return html

    def resize(self, max_bytes: int) -> None:
        """A new bound; the least recently used entries beyond it go at once."""
        with self._lock:
            self.max_bytes = max_bytes
            while self.size > max_bytes and self._items:
                self._pop(next(iter(self._items)))

    def forget(self, document_id: str | None = None, session_id: str | None = None) -> int:
        """Drop a chat's entries, or a whole document's; returns how many went."""
        with self._lock:
            sessions = set(self._by_document.get(document_id, ())) if document_id is not None else set()
            if session_id is not None:
                sessions.add(session_id)
            dropped = 0
            for sid in sessions:
                for message_id in list(self._by_session.get(sid, ())):
                    dropped += self._pop(message_id)
            return dropped

    def on_change(self, event: str, subject: Any) -> None:
        """An AppState listener (see `AppState.add_listener`): quick, under the resource's locks."""
        if event in ("session_deleted", "session_evicted"):
            self.forget(session_id=subject)
        elif event == "document_deleted":
            self.forget(document_id=subject)

    def _pop(self, message_id: str) -> int:
        """Remove one entry and its index slots (call with the lock held); 1 if it was there."""
        entry = self._items.pop(message_id, None)
        if entry is None:
            return 0
        self.size -= entry[3]
        document_id, session_id = entry[2]
        held = self._by_session.get(session_id)
        if held is not None:
            held.discard(message_id)
            if not held:
                del self._by_session[session_id]
                sessions = self._by_document.get(document_id)
                if sessions is not None:
                    sessions.discard(session_id)
                    if not sessions:
                        del self._by_document[document_id]
        return 1
