"""`FileService`: the text of the files attached to chats and documents, on disk under the data folder.

Layout::

    <data>/files/sessions/<session id>/<file id>.json    metadata (name, kind, sizes, who, when)
    <data>/files/sessions/<session id>/<file id>.txt     the extracted text (UTF-8)
    <data>/files/documents/<document id>/...             the same for a document's files

Only the extracted text is kept, not the uploaded original: the model is only ever sent
text, the app never serves the original back, and an original (a PDF with images, a
Word file with its history) is larger and may hold more than the user meant to share.
Names are the user's and only ever shown: files are stored under generated ids. The
text is written first and the metadata second, each atomically; the metadata marks a
file as present, so a crash between them leaves an unlisted text file, never a listed
file without text. Secrets in the text (API keys, tokens, private keys) are redacted before it
is stored, as in context documents. Access is checked by the caller (`domain/attachments.py`).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..chat.context import estimate_tokens
from ..domain.models import ChatSession, is_id, new_id, now
from ..errors import Conflict
from ..housekeeping.redaction import redact
from ..storage.files import dumps, write_atomic
from ..storage.store import Store
from .context import ContextFile
from .extract import extract

log = logging.getLogger(__name__)

# scope (as the API says it) -> the data folder it is kept under (and the store's folder checked on writes)
SCOPES = {"chat": "sessions", "document": "documents"}
MAX_NAME_CHARS = 200


def display_name(filename: str) -> str:
    """The name shown for an upload: its last path part, without control characters, at most 200 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (name or "file")[:MAX_NAME_CHARS]


class FileService:
    """Adds, lists, reads and deletes the files of a chat or a document (callers check access)."""

    def __init__(self, store: Store, cfg: Mapping[str, Any]) -> None:
        self.store = store
        self.root = store.root / "files"
        self.max_pages = int(cfg["FILE_MAX_PAGES"])
        self.max_chars = int(cfg["FILE_MAX_CHARS"])
        self.max_files = int(cfg["MAX_FILES"])
        # The files' text takes at most this share of the context budget (the history gets the rest).
        self.budget = int(cfg["CONTEXT_TOKENS"] * cfg["FILES_CONTEXT_SHARE"])
        self._guard = threading.Lock()  # one upload at a time counts against MAX_FILES

    def _folder(self, scope: str, owner_id: str) -> Path:
        if scope not in SCOPES or not is_id(owner_id):
            raise ValueError(f"bad file owner {scope} {owner_id!r}")
        return self.root / SCOPES[scope] / owner_id

    # -- reading ----------------------------------------------------------------------
    def files_of(self, scope: str, owner_id: str) -> list[dict[str, Any]]:
        """The files of a chat or document (metadata only), oldest first."""
        folder = self._folder(scope, owner_id)
        found = []
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        for name in names:
            stem, _, ext = name.rpartition(".")
            if ext == "json" and is_id(stem):
                meta = self._meta(folder / name)
                if meta is not None:
                    found.append(meta)
        return sorted(found, key=lambda m: (m["created_at"], m["id"]))

    @staticmethod
    def _meta(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_bytes())["data"]
        except FileNotFoundError:
            return None  # deleted meanwhile
        except (ValueError, KeyError, TypeError) as exc:
            log.error("unreadable file metadata %s: %s", path, exc)
            return None
        return data if isinstance(data, dict) else None

    def get(self, scope: str, owner_id: str, file_id: str) -> dict[str, Any] | None:
        """One file's metadata with its `text`, or None."""
        if not is_id(file_id):
            return None
        folder = self._folder(scope, owner_id)
        meta = self._meta(folder / f"{file_id}.json")
        text = self._text(folder, file_id) if meta is not None else None
        return None if meta is None or text is None else {**meta, "text": text}

    @staticmethod
    def _text(folder: Path, file_id: str) -> str | None:
        try:
            return (folder / f"{file_id}.txt").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def context(self, session: ChatSession) -> dict[str, Any]:
        """`build_messages` arguments for a chat's reply: its files and their share of the token budget."""
        return {"files": self.context_files(session.id, session.document_id), "files_budget": self.budget}

    def context_files(self, session_id: str, document_id: str) -> list[ContextFile]:
        """What a chat's replies are given: the chat's own files, then its document's."""
        out = []
        for scope, owner in (("chat", session_id), ("document", document_id)):
            folder = self._folder(scope, owner)
            for meta in self.files_of(scope, owner):  # the metadata is read once, here; then only the text
                text = self._text(folder, meta["id"])
                if text is not None:
                    out.append(ContextFile(meta["id"], meta["name"], scope, text, int(meta["tokens"])))
        return out

    # -- writing ----------------------------------------------------------------------
    def add(self, scope: str, owner_id: str, filename: str, data: bytes, user_id: str | None) -> dict[str, Any]:
        """Extract an upload's text and keep it; its metadata. BadRequest for a file it cannot read,
        Conflict when the chat or document already has MAX_FILES files."""
        folder = self._folder(scope, owner_id)
        name = display_name(filename)
        got = extract(data, name, max_pages=self.max_pages, max_chars=self.max_chars)
        text = redact(got.text)  # like context documents: a key pasted into a file is not kept or sent on
        meta = {"id": new_id(), "name": name, "kind": got.kind, "scope": scope, "owner_id": owner_id,
                "size_bytes": len(data), "chars": len(text), "tokens": estimate_tokens(text),
                "pages": got.pages, "truncated": got.truncated, "created_at": now(), "created_by": user_id}
        with self._guard:
            if len(self.files_of(scope, owner_id)) >= self.max_files:
                where = "chat" if scope == "chat" else "document"
                raise Conflict(f"This {where} already has {self.max_files} files; delete one first.",
                               limit=self.max_files)
            with self.store.folder.writing(SCOPES[scope]):
                folder.mkdir(parents=True, exist_ok=True)
                write_atomic(folder / f"{meta['id']}.txt", text.encode("utf-8"))
                write_atomic(folder / f"{meta['id']}.json", dumps({"format_version": 1, "kind": "file",
                                                                   "data": meta}))
        return meta

    def delete(self, scope: str, owner_id: str, file_id: str) -> bool:
        """Remove one file (metadata first: it marks the file as present); False if there was none."""
        if not is_id(file_id):
            return False
        folder = self._folder(scope, owner_id)
        removed = False
        with self._guard, self.store.folder.writing(SCOPES[scope]):
            for suffix in (".json", ".txt"):
                try:
                    (folder / f"{file_id}{suffix}").unlink()
                    removed = removed or suffix == ".json"
                except FileNotFoundError:
                    pass
            try:
                folder.rmdir()  # the last file of a chat or document takes its folder along
            except OSError:
                pass  # not empty, or already gone
        return removed

    def delete_owner(self, scope: str, owner_id: str) -> None:
        """Remove every file of a chat or document (it is being deleted)."""
        folder = self._folder(scope, owner_id)
        if not folder.exists():
            return
        with self.store.folder.writing(SCOPES[scope]):
            try:
                shutil.rmtree(folder)
            except FileNotFoundError:
                pass  # deleted meanwhile (another request, another process)
