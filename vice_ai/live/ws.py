"""Websocket endpoints (flask-sock); thin: check, build a connection, run it."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_sock import Sock

from ..errors import NotFound
from ..services import EDIT, READ, current_user, hub, load_session
from .connection import SessionConnection

bp = Blueprint("live", __name__)
sock = Sock()


@bp.before_request
def same_origin_only():
    """Refuse a handshake from another site's page (browsers always send Origin)."""
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        body = {"error": {"code": "forbidden", "message": "Websocket connections must come from this site."}}
        return jsonify(body), 403
    return None


class GuardedEngine:
    """The engine as one socket's user may use it: every command checks access (and the rate limit) first.

    Access can be taken away while the socket is open, so it is checked per
    command, not once at the handshake.
    """

    def __init__(self, app: Flask, user: Any) -> None:
        self.app = app
        self.user = user
        self.engine = app.extensions["vice_engine"]

    def _writable(self, session_id: str) -> None:
        with self.app.app_context():
            load_session(session_id, EDIT, self.user)

    def _start(self, session_id: str) -> None:
        from ..sessions import before_generation

        with self.app.app_context():
            g.vice_user = self.user
            before_generation(session_id)

    def send_message(self, session_id: str, content: Any):
        self._start(session_id)
        return self.engine.send_message(session_id, content)

    def regenerate(self, session_id: str):
        self._start(session_id)
        return self.engine.regenerate(session_id)

    def stop(self, session_id: str) -> bool:
        self._writable(session_id)
        return self.engine.stop(session_id)

    def running(self, session_id: str):
        return self.engine.running(session_id)


@sock.route("/ws/sessions/<session_id>", bp=bp)
def session_socket(ws, session_id: str) -> None:
    from ..sessions import session_view

    user = current_user()
    try:
        session = load_session(session_id, READ, user)
    except NotFound:
        # The same answer for a session that is not there and one this user may not see.
        ws.send(json.dumps({"type": "error", "local": True, "seq": 0,
                            "error": {"code": "not_found", "message": "Chat session not found.", "retryable": False}}))
        return
    app = current_app._get_current_object()

    def snapshot() -> dict:
        with app.app_context():  # called from the connection's reader thread
            g.vice_user = user
            load_session(session_id, READ, user)
            return session_view(session_id)

    conn = SessionConnection(ws, session.id, session.document_id, hub(), GuardedEngine(app, user),
                             snapshot=snapshot, user=user)
    conn.run()


def init_app(app: Flask) -> None:
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": app.config["WS_PING_INTERVAL"],
        "max_message_size": app.config["WS_MAX_MESSAGE_SIZE"],
    })
    app.register_blueprint(bp)
