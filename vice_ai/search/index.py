"""The full-text index: one SQLite file with an FTS5 table, derived from the JSON files, never their source.

`items` holds one row per thing a user can find (a document, a section, a chat,
a message) with the ids to open it; `items_fts` is an external-content FTS5
table over its `title` and `body`, kept in step by triggers. WAL and a busy
timeout let several processes sharing the data folder write it in turn.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"
MAX_TERMS = 16
# Markers around a match in FTS5's snippet(); stripped from indexed text so they are never ambiguous.
OPEN, CLOSE = "\x02", "\x03"
_MARKERS = str.maketrans({OPEN: " ", CLOSE: " "})
_WORD = re.compile(r"\w", re.UNICODE)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    rowid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    section_id TEXT,
    session_id TEXT,
    message_id TEXT,
    role TEXT,
    created_at TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS items_document ON items (document_id);
CREATE INDEX IF NOT EXISTS items_session ON items (session_id);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    title, body, content='items', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS items_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER IF NOT EXISTS items_ad AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER IF NOT EXISTS items_au AFTER UPDATE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO items_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', '{SCHEMA_VERSION}');
"""

_COLUMNS = ("key", "kind", "document_id", "section_id", "session_id", "message_id", "role", "created_at", "title",
            "body")
_UPSERT = (f"INSERT INTO items ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           "ON CONFLICT (key) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:]))


class IndexCorrupt(Exception):
    """The index file is not a usable index (not SQLite, damaged, or of another schema)."""


@dataclass(frozen=True)
class Item:
    """One findable thing, as a row of the index."""

    kind: str  # "document" | "section" | "chat" | "message"
    document_id: str
    section_id: str | None = None
    session_id: str | None = None
    message_id: str | None = None
    role: str | None = None
    created_at: str = ""
    title: str = ""
    body: str = ""

    @property
    def key(self) -> str:
        own = {"document": self.document_id, "section": self.section_id, "chat": self.session_id,
               "message": self.message_id}[self.kind]
        return f"{self.kind}:{own}"

    def row(self) -> tuple[Any, ...]:
        return (self.key, self.kind, self.document_id, self.section_id, self.session_id, self.message_id, self.role,
                self.created_at, self.title.translate(_MARKERS), self.body.translate(_MARKERS))


@dataclass(frozen=True)
class Hit:
    """A match: the ids to open it, where it matched, and a plain-text snippet with the matched spans."""

    kind: str
    document_id: str
    section_id: str | None
    session_id: str | None
    message_id: str | None
    role: str | None
    created_at: str
    snippet: str
    matches: list[tuple[int, int]]
    score: float


def match_expression(text: str, prefix_last: bool = True) -> str | None:
    """The user's text as an FTS5 query that cannot be a syntax error: every word a quoted phrase (all must
    match), the last one a prefix while the user is still typing it; None when no word is left."""
    words = [w for w in text.split() if _WORD.search(w)][:MAX_TERMS]
    if not words:
        return None
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last and not text[-1:].isspace():
        phrases[-1] += "*"
    return " ".join(phrases)


def split_snippet(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """FTS5's snippet with OPEN/CLOSE markers as plain text and [start, end) spans (in code points)."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for part in re.split(f"([{OPEN}{CLOSE}])", marked):
        if part == OPEN:
            start = length
        elif part == CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            text.append(part)
            length += len(part)
    return "".join(text), spans


class SearchIndex:
    """The index file: opened (checked) once per connection; the writer and each search use their own."""

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    def connect(self, setup: bool = True) -> sqlite3.Connection:
        """A connection to the index; with `setup`, the file is made and its schema put in place (IndexCorrupt if
        it is not a usable index); without, the file must exist (searches never create it)."""
        if not setup:
            target = self.path.resolve().as_uri() + "?mode=rw"
            return sqlite3.connect(target, uri=True, timeout=self.busy_timeout, isolation_level=None)
        # Only its own folder: a data folder that vanished must stay gone (health says so), not come back
        # holding just an index (FileNotFoundError: the writer retries later).
        self.path.parent.mkdir(exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            found = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            if found is None or found[0] != SCHEMA_VERSION:
                raise IndexCorrupt(f"index schema {found[0] if found else None!r}, expected {SCHEMA_VERSION!r}")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # another process holds it: a failure to retry, not a damaged file
            raise IndexCorrupt(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise IndexCorrupt(str(exc)) from exc
        except IndexCorrupt:
            conn.close()
            raise
        return conn

    def check(self, conn: sqlite3.Connection) -> None:
        """IndexCorrupt unless the file and the full-text index agree with themselves."""
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                raise IndexCorrupt(f"quick_check: {ok[0] if ok else None}")
            conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(str(exc)) from exc

    def remove_files(self) -> None:
        """Delete the index file and its WAL companions (it is rebuilt from the JSON files)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def get_meta(conn: sqlite3.Connection, name: str) -> str | None:
        found = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if found is None else str(found[0])

    @staticmethod
    def set_meta(conn: sqlite3.Connection, name: str, value: str) -> None:
        conn.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = "
                     "excluded.value", (name, value))

    # -- writes (the caller holds a transaction) -----------------------------------------
    @staticmethod
    def put(conn: sqlite3.Connection, items: Iterable[Item]) -> None:
        conn.executemany(_UPSERT, [item.row() for item in items])

    @staticmethod
    def replace_document(conn: sqlite3.Connection, document_id: str, items: Sequence[Item]) -> None:
        """The document's own row and its sections' rows, exactly these (a removed section goes)."""
        keep = [item.key for item in items]
        conn.execute("DELETE FROM items WHERE document_id = ? AND kind IN ('document', 'section') AND key NOT IN "
                     "(SELECT value FROM json_each(?))", (document_id, _json_list(keep)))
        SearchIndex.put(conn, items)

    @staticmethod
    def delete_document(conn: sqlite3.Connection, document_id: str) -> None:
        conn.execute("DELETE FROM items WHERE document_id = ?", (document_id,))

    @staticmethod
    def delete_session(conn: sqlite3.Connection, session_id: str) -> None:
        conn.execute("DELETE FROM items WHERE session_id = ?", (session_id,))

    @staticmethod
    def clear(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM items")
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")

    # -- reads ------------------------------------------------------------------------
    @staticmethod
    def query(conn: sqlite3.Connection, expression: str, document_ids: Sequence[str], limit: int) -> list[Hit]:
        """The best matches among `document_ids`: a title match weighs more than one in the text."""
        rows = conn.execute(
            """SELECT i.kind, i.document_id, i.section_id, i.session_id, i.message_id, i.role, i.created_at,
                       snippet(items_fts, 1, ?, ?, '…', 24) AS body_snip,
                       snippet(items_fts, 0, ?, ?, '…', 24) AS title_snip,
                       bm25(items_fts, 4.0, 1.0) AS score
                FROM items_fts JOIN items i ON i.rowid = items_fts.rowid
                WHERE items_fts MATCH ? AND i.document_id IN (SELECT value FROM json_each(?))
                ORDER BY score, i.created_at DESC LIMIT ?""",
            (OPEN, CLOSE, OPEN, CLOSE, expression, _json_list(document_ids), limit)).fetchall()
        hits = []
        for kind, doc_id, section_id, session_id, message_id, role, created_at, body, title, score in rows:
            # The text's snippet when the match is there, else the title's (a match in the title only).
            chosen = body if OPEN in body or OPEN not in title else title
            text, spans = split_snippet(chosen)
            hits.append(Hit(kind, doc_id, section_id, session_id, message_id, role, created_at, text, spans,
                            float(score)))
        return hits

    @staticmethod
    def count(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))
