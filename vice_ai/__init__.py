"""VICE AI: write documents section by section with an LLM chat beside each section."""
from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from flask import Flask

from . import cli, security
from . import config as config_module
from .accounts import identity
from .accounts.access import Access
from .accounts.tokens import Tokens
from .accounts.users import Accounts
from .api import blueprints
from .api import errors as api_errors
from .chat.engine import ChatEngine
from .chat.render import configure_replies
from .coordination.leases import build_leases
from .domain.preset_store import PresetStore
from .domain.state import AppState
from .files.service import FileService
from .housekeeping import allocator
from .housekeeping.archiving import Archiver
from .housekeeping.repair import Repairer
from .live import backend
from .live.document_lists import DocumentLists
from .llm import LLMService
from .search.service import SearchService
from .security.ratelimit import RateLimits
from .services import KEY, Services, services
from .storage.store import Store
from .streams.service import NotificationStreams
from .tools.builtin import builtin_registry

__all__ = ["create_app", "shutdown", "services"]

# The last event every open socket gets when the server stops (then it closes).
RESTARTING = {"type": "restarting", "local": True,
              "message": "The server is restarting; this page reconnects by itself."}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then environment, then `config` (tests pass theirs here)."""
    app = Flask(__name__, template_folder=str(config_module.PROJECT_ROOT / "templates"))
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    cfg = app.config
    if cfg["AUTH"] not in ("password", "local", "header"):
        raise ValueError(f"AUTH must be password, local or header, not {cfg['AUTH']!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    allocator.limit_arenas(int(cfg["MALLOC_ARENAS"]))  # before the server's threads first allocate
    store = Store(cfg["DATA_DIR"])
    state = AppState(store, compact_bytes=cfg["JOURNAL_COMPACT_BYTES"], cache_sessions=cfg["CACHE_SESSIONS"],
                     cache_documents=cfg["CACHE_DOCUMENTS"])
    accounts = Accounts(store, password_method=cfg["PASSWORD_METHOD"])
    access = Access(cfg["AUTH"], accounts)
    hub = backend.hub_for(cfg)  # with REDIS_URL: shared by every process (live/redis_hub.py)
    hub.set_access(lambda user, document_id: access.may_read_document(user, document_id, state))
    llm = LLMService(cfg)
    tools = builtin_registry()
    leases = build_leases(cfg, store.root)  # one generation per chat, one runner per stream, in all processes
    streams = NotificationStreams(state, llm, hub, tools, cfg, leases=leases)
    files = FileService(store, cfg)
    engine = ChatEngine(state, llm, hub, tools, streams, cfg, files=files, leases=leases)
    hub.set_running(engine.running)  # with Redis, another process's `stop` of a reply running here
    state.keep_loaded(lambda kind, item_id: kind == "sessions" and engine.running(item_id) is not None)
    app.extensions[KEY] = Services(
        config=cfg,
        store=store, state=state, hub=hub, llm=llm, tools=tools, streams=streams, engine=engine, leases=leases,
        accounts=accounts, access=access,
        limits=RateLimits(cfg["RATE_MESSAGES"], cfg["RATE_SIGNIN"], cfg["RATE_SIGNIN_IP"], cfg["RATE_SIGNIN_USER"],
                          cfg["RATE_SHARE_MISSES"], enabled=cfg["AUTH"] != "local", storage=cfg["REDIS_URL"]),
        archiver=Archiver(state, engine, cfg),
        repairer=Repairer(state, engine.recover, sweep=engine.sweep if leases.sweeps else None),
        presets=PresetStore(store),
        files=files,
        tokens=Tokens(accounts),
        search=SearchService(state, access, store.root / "search" / "index.sqlite3"),
        lists=DocumentLists.attach(hub, state, access),
    )
    state.add_listener(services(app).search.on_change)
    state.add_listener(configure_replies(int(cfg["REPLY_CACHE_BYTES"])).on_change)  # deleted chats' replies go
    backend.feed_for(hub).attach(hub, state)  # the document sockets' events (live/document_feed.py)

    api_errors.init_app(app)
    security.init_app(app)  # cross-site refusals first, then who is asking
    identity.init_app(app)
    blueprints.register(app)
    cli.init_app(app)

    # Streams that were running before a restart start again, off the request path;
    # replies a dead process left streaming, and half-done two-file changes, are put right.
    # Not for a `flask` command (create-user, backup...): it must not touch a running server's chats.
    if not cli.loaded_for_a_command():
        threading.Thread(target=streams.watch, name="streams-watch", daemon=True).start()
        services(app).repairer.start()
        services(app).archiver.start()
        services(app).search.start()
    atexit.register(shutdown, app)
    return app


def shutdown(app: Flask, timeout: float = 5.0) -> None:
    """Stop the background jobs, notification streams and generations, waiting for their threads (each
    running reply is saved as `interrupted`, reason `server_restart`, and its tabs told), then close every
    websocket with a `restarting` event (idempotent). `run.py` and the gunicorn hooks call it on SIGTERM and SIGINT."""
    found = services(app)
    found.repairer.shutdown(timeout)
    found.archiver.shutdown(timeout)
    found.streams.shutdown(timeout)
    found.engine.shutdown(timeout)
    found.leases.close()
    found.hub.close_all(RESTARTING, timeout)
    found.search.shutdown(timeout)
    found.state.close(timeout)
