"""Websocket endpoints (flask-sock); thin: check, build a connection, run it.

Cross-site handshakes are refused before this runs (`security/csrf.py`).
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, current_app, g
from flask_sock import Sock

from ..accounts.identity import current_user
from ..chat.engine import Round
from ..domain import chats
from ..domain.resources import EDIT, READ, load_session
from ..errors import NotFound
from ..live.connection import SessionConnection
from ..services import services

bp = Blueprint("live", __name__)
sock = Sock()


class GuardedEngine:
    """The engine as one socket's user may use it: every command checks access (and the rate limit) first.

    Access can be taken away while the socket is open, so it is checked per
    command, not once at the handshake.
    """

    def __init__(self, app: Flask, user: Any) -> None:
        self.app = app
        self.user = user
        self.engine = services(app).engine

    def _as_user(self, check: Any, session_id: str) -> None:
        with self.app.app_context():
            g.vice_user = self.user
            check(session_id)

    def send_message(self, session_id: str, content: Any) -> Round:
        self._as_user(chats.before_generation, session_id)
        return self.engine.send_message(session_id, content)

    def regenerate(self, session_id: str) -> Round:
        self._as_user(chats.before_generation, session_id)
        return self.engine.regenerate(session_id)

    def stop(self, session_id: str) -> bool:
        self._as_user(lambda sid: load_session(sid, EDIT, self.user), session_id)
        return self.engine.stop(session_id)

    def running(self, session_id: str) -> Round | None:
        return self.engine.running(session_id)


@sock.route("/ws/sessions/<session_id>", bp=bp)
def session_socket(ws: Any, session_id: str) -> None:
    user = current_user()
    try:
        session = load_session(session_id, READ, user)
    except NotFound as err:
        # The same answer for a session that is not there and one this user may not see.
        ws.send(json.dumps({"type": "error", "local": True, "seq": 0,
                            "error": {**err.error_object(), "retryable": False}}))
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def snapshot() -> dict[str, Any]:
        with app.app_context():  # called from the connection's reader thread
            g.vice_user = user
            load_session(session_id, READ, user)
            return chats.session_view(session_id)

    conn = SessionConnection(ws, session.id, session.document_id, services().hub, GuardedEngine(app, user),
                             snapshot=snapshot, user=user)
    conn.run()


def init_app(app: Flask) -> None:
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": app.config["WS_PING_INTERVAL"],
        "max_message_size": app.config["WS_MAX_MESSAGE_SIZE"],
    })
    app.register_blueprint(bp)
