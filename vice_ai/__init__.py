"""VICE AI: write documents section by section with an LLM chat beside each section."""
from __future__ import annotations

import atexit
import logging
import secrets
from typing import Any

from flask import Flask, jsonify

from . import config as config_module
from . import errors
from .chat.engine import ChatEngine
from .live.hub import Hub
from .llm import LLMService
from .state import AppState
from .store import Store

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then environment, then `config` (tests pass theirs here)."""
    app = Flask(__name__, template_folder=str(config_module.PROJECT_ROOT / "templates"))
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    store = Store(app.config["DATA_DIR"])
    state = AppState(store, compact_bytes=app.config["JOURNAL_COMPACT_BYTES"])
    hub = Hub(app.config["EVENT_BUFFER"])
    llm = LLMService(app)
    engine = ChatEngine()
    engine.init_app(app, state, llm, hub)
    app.extensions.update(vice_state=state, vice_hub=hub)

    errors.init_app(app)
    from . import documents, sessions, web
    from .live import ws

    app.register_blueprint(documents.bp)
    app.register_blueprint(sessions.bp)
    app.register_blueprint(web.bp)
    ws.init_app(app)

    @app.get("/api/health")
    def health():
        return jsonify({"status": "ok", "offline": llm.offline, "default_model": llm.default_model})

    @app.get("/api/models")
    def models():
        return jsonify(llm.describe())

    atexit.register(engine.shutdown)
    return app
