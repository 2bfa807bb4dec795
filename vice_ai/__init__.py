"""VICE AI: write documents section by section with an LLM chat beside each section."""
from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from flask import Flask, jsonify

from . import auth
from . import config as config_module
from . import errors
from .chat.engine import ChatEngine
from .live.hub import Hub
from .llm import LLMService
from .state import AppState
from .store import Store
from .tools.builtin import builtin_registry
from .tools.streams import NotificationStreams

__all__ = ["create_app", "shutdown"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then environment, then `config` (tests pass theirs here)."""
    app = Flask(__name__, template_folder=str(config_module.PROJECT_ROOT / "templates"))
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    store = Store(app.config["DATA_DIR"])
    state = AppState(store, compact_bytes=app.config["JOURNAL_COMPACT_BYTES"])
    hub = Hub(app.config["EVENT_BUFFER"])
    llm = LLMService(app)
    tools = builtin_registry()
    streams = NotificationStreams()
    streams.init_app(app, state, llm, hub, tools)
    engine = ChatEngine()
    engine.init_app(app, state, llm, hub, tools, streams)
    app.extensions.update(vice_state=state, vice_hub=hub)

    errors.init_app(app)
    # Accounts, access rules, CSRF and security headers (also: the cookie secret key).
    auth.init_app(app, store)
    access = app.extensions["vice_access"]
    hub.set_access(lambda user, document_id: access.may_read_document(user, document_id, state))
    from . import documents, export, sessions, web
    from .live import ws
    from .tools import routes as tool_routes

    app.register_blueprint(documents.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(sessions.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(tool_routes.bp)
    ws.init_app(app)

    @app.get("/api/health")
    def health():
        return jsonify({"status": "ok", "offline": llm.offline, "default_model": llm.default_model})

    @app.get("/api/models")
    def models():
        """The models to pick from; `default` is the user's own choice when it is available."""
        from .services import current_user

        described = llm.describe()
        user = current_user()
        preferred, _ = llm.resolve(user.model if user is not None else None)
        return jsonify({**described, "default": preferred})

    # Streams that were running before a restart start again, off the request path.
    threading.Thread(target=streams.restore, name="streams-restore", daemon=True).start()
    app.extensions["vice_archiver"].start()
    atexit.register(shutdown, app)
    return app


def shutdown(app: Flask, timeout: float = 5.0) -> None:
    """Stop the archiving job, notification streams and generations, waiting for their threads (idempotent)."""
    app.extensions["vice_archiver"].shutdown(timeout)
    app.extensions["vice_streams"].shutdown(timeout)
    app.extensions["vice_engine"].shutdown(timeout)
