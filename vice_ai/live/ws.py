"""Websocket endpoints (flask-sock); thin: check, build a connection, run it."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_sock import Sock

from ..services import app_state, engine, hub
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


@sock.route("/ws/sessions/<session_id>", bp=bp)
def session_socket(ws, session_id: str) -> None:
    from ..sessions import session_view

    session = app_state().get_chat_session(session_id)
    if session is None:
        ws.send(json.dumps({"type": "error", "local": True, "seq": 0,
                            "error": {"code": "not_found", "message": "Chat session not found.", "retryable": False}}))
        return
    app = current_app._get_current_object()

    def snapshot() -> dict:
        with app.app_context():  # called from the connection's reader thread
            return session_view(session_id)

    conn = SessionConnection(ws, session.id, session.document_id, hub(), engine(), snapshot=snapshot)
    conn.run()


def init_app(app: Flask) -> None:
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": app.config["WS_PING_INTERVAL"],
        "max_message_size": app.config["WS_MAX_MESSAGE_SIZE"],
    })
    app.register_blueprint(bp)
