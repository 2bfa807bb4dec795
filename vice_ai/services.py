"""The app's services: built once by the factory, reached through `services()`.

Each app has its own set (tests run several apps at once), kept in
`app.extensions["vice_ai"]`. Every service gets what it needs in its
constructor; nothing looks another service up by a string key.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from .accounts.access import Access
    from .accounts.tokens import Tokens
    from .accounts.users import Accounts
    from .chat.engine import ChatEngine
    from .coordination.leases import Leases
    from .domain.preset_store import PresetStore
    from .domain.state import AppState
    from .files.service import FileService
    from .housekeeping.archiving import Archiver
    from .housekeeping.repair import Repairer
    from .live.document_lists import DocumentLists
    from .live.hub import Hub
    from .llm import LLMService
    from .search.service import SearchService
    from .security.ratelimit import RateLimits
    from .storage.store import Store
    from .streams.service import NotificationStreams
    from .tools import ToolRegistry

KEY = "vice_ai"


@dataclass(frozen=True)
class Services:
    config: Mapping[str, Any]
    store: Store
    state: AppState
    hub: Hub
    llm: LLMService
    tools: ToolRegistry
    streams: NotificationStreams
    engine: ChatEngine
    leases: Leases
    accounts: Accounts
    access: Access
    limits: RateLimits
    archiver: Archiver
    repairer: Repairer
    presets: PresetStore
    files: FileService
    tokens: Tokens
    search: SearchService
    lists: DocumentLists  # each user's document list, live (live/document_lists.py)


def services(app: Flask | None = None) -> Services:
    """The services of `app`, or of the current app."""
    target = app if app is not None else current_app
    found: Services = target.extensions[KEY]
    return found
