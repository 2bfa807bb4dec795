"""Accessors for the per-app services (each app has its own: tests run several at once)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from .errors import NotFound
from .models import ChatSession, Document, Section

if TYPE_CHECKING:
    from .chat.engine import ChatEngine
    from .live.hub import Hub
    from .llm import LLMService
    from .state import AppState


def app_state() -> "AppState":
    return current_app.extensions["vice_state"]


def engine() -> "ChatEngine":
    return current_app.extensions["vice_engine"]


def hub() -> "Hub":
    return current_app.extensions["vice_hub"]


def llm() -> "LLMService":
    return current_app.extensions["vice_llm"]


def load_document(doc_id: str) -> Document:
    """The document or a 404 (ids that are not uuids never reach the disk)."""
    doc = app_state().get_document(doc_id)
    if doc is None:
        raise NotFound("Document not found.")
    return doc


def load_section(doc: Document, section_id: str) -> Section:
    """The section of a document or a 404."""
    section = doc.section(section_id)
    if section is None:
        raise NotFound("Section not found.")
    return section


def load_session(session_id: str) -> ChatSession:
    """The chat session or a 404."""
    session = app_state().get_chat_session(session_id)
    if session is None:
        raise NotFound("Chat session not found.")
    return session
