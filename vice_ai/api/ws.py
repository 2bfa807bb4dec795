"""Websocket endpoints (flask-sock); thin: check, build a connection, run it.

Cross-site handshakes are refused before this runs (`security/csrf.py`). The
commands and events are declared in `schemas/websocket.py`: commands are read
with `parse_command`, and `init_app` lists both in the OpenAPI document.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, g
from flask_sock import Sock

from ..accounts.identity import current_user, is_current, socket_credential
from ..chat.branching import END, Parent
from ..chat.rounds import Round
from ..domain import chats
from ..domain.document_list import document_page
from ..domain.resources import EDIT, READ, document_view, load_document, load_session
from ..errors import BadRequest, NotFound
from ..live.connection import SessionConnection
from ..live.document_socket import DocumentConnection
from ..live.list_socket import ListConnection
from ..services import services
from .declare import declare_websocket, validate
from .jsonbody import parse_json
from .openapi import register_websocket_messages
from .schemas.document_socket import DOCUMENT_COMMANDS, DOCUMENT_EVENTS, DocumentCommand
from .schemas.list_socket import LIST_COMMANDS, LIST_EVENTS
from .schemas.websocket import COMMANDS, EVENTS, Command

# Deepest nesting a command may have (commands need 1; the same limit as HTTP bodies).
MAX_COMMAND_DEPTH = 32

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

    def send_message(self, session_id: str, content: Any, parent: Parent = END,
                     references: list[dict[str, Any]] | None = None) -> Round:
        self._as_user(chats.before_generation, session_id)
        return self.engine.send_message(session_id, content, parent=parent, references=references)

    def regenerate(self, session_id: str, message_id: str | None = None) -> Round:
        self._as_user(chats.before_generation, session_id)
        return self.engine.regenerate(session_id, message_id=message_id)

    def continue_reply(self, session_id: str) -> Round:
        self._as_user(chats.before_generation, session_id)
        return self.engine.continue_reply(session_id)

    def stop(self, session_id: str) -> bool:
        self._as_user(lambda sid: load_session(sid, EDIT, self.user), session_id)
        return self.engine.stop(session_id)

    def running(self, session_id: str) -> Round | None:
        return self.engine.running(session_id)

    def generating(self, session_id: str) -> bool:
        return self.engine.generating(session_id)


def parse_command(raw: str | bytes, config: Mapping[str, Any] | None = None, *,
                  commands: Mapping[str, Any] = COMMANDS, model: Any = Command) -> Any:
    """One websocket message as a validated command model (of the chat socket's, unless told), or a BadRequest
    naming the field."""
    data = parse_json(raw, max_depth=MAX_COMMAND_DEPTH)
    if not isinstance(data, dict):
        raise BadRequest('Commands are JSON objects with a "type".')
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadRequest('Commands are JSON objects with a "type".', field="type")
    if kind not in commands:
        raise BadRequest(f"Unknown command type {kind!r}.", field="type")
    return validate(model, data, config=config).root


def finish(ws: Any, timeout: float = 2.0) -> None:
    """End a socket cleanly: the closing handshake (if the client has not closed it), then the TCP connection.

    flask-sock hands werkzeug an HTTP answer after the handler returns, and werkzeug's server writes it on
    the connection: after a close frame the browser reads those bytes as a broken frame ("Invalid frame
    header" in its console). Shutting the connection first leaves werkzeug nothing to write to.
    """
    try:
        if ws.connected:
            ws.close()
    except Exception:  # closed by the other side meanwhile
        pass
    thread = getattr(ws, "thread", None)
    if isinstance(thread, threading.Thread) and thread is not threading.current_thread():
        thread.join(timeout)  # simple_websocket's reader ends on the client's close frame
    raw = getattr(ws, "sock", None)
    if isinstance(raw, socket.socket):
        try:
            raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # gone already


@sock.route("/ws/sessions/<session_id>", bp=bp)
@declare_websocket(tags=["sessions"])
def session_socket(ws: Any, session_id: str) -> None:
    """A chat session's live events, and commands to it (see `x-websocket` for both).

    Opens with a `hello`; then every event about the session (numbered by `seq`) and
    the local answers to this socket's commands. A session the user may not read gets
    an `error` event `not_found` and the socket closes.
    """
    try:
        _session_socket(ws, session_id)
    finally:
        finish(ws)


def _session_socket(ws: Any, session_id: str) -> None:
    user = current_user()
    session = _opened(ws, lambda: load_session(session_id, READ, user))
    if session is None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def view() -> dict[str, Any]:
        load_session(session_id, READ, user)
        return chats.session_view(session_id)

    conn = SessionConnection(ws, session.id, session.document_id, services().hub, GuardedEngine(app, user),
                             snapshot=_as_user(app, user, view), user=user,
                             parse=lambda raw: parse_command(raw, app.config), **_sign_in(app))
    conn.run(opening=services().engine.gate.held())


T = TypeVar("T")


def _opened(ws: Any, load: Callable[[], T]) -> T | None:
    """What the socket is about, or None once it was refused (the same answer for missing and hidden)."""
    try:
        return load()
    except NotFound as err:
        _refuse(ws, err)
        return None


def _as_user(app: Flask, user: Any, view: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """`view` as the connection's reader thread calls it: in an app context, as the socket's user."""

    def run() -> dict[str, Any]:
        with app.app_context():
            g.vice_user = user
            return view()

    return run


def _sign_in(app: Flask) -> dict[str, Any]:
    """The API token, or in password mode the sign-in, this socket was opened with, and a check that it still
    holds: once it ends, the socket closes."""
    credential = socket_credential()

    def signed_in() -> bool:
        with app.app_context():
            return is_current(credential)

    return {"credential": credential, "signed_in": signed_in if credential is not None else None}


def _refuse(ws: Any, err: NotFound) -> None:
    """The same answer for what is not there and what this user may not see: an error event, then the end."""
    ws.send(json.dumps({"type": "error", "local": True, "seq": 0, "error": {**err.error_object(), "retryable": False}}))


@sock.route("/ws/documents/<doc_id>", bp=bp)
@declare_websocket(tags=["documents"])
def document_socket(ws: Any, doc_id: str) -> None:
    """A document's live changes: sections, chats, shares and notifications (see `x-websocket.documents`).

    Opens with a `hello`; then every event about the document (numbered by `seq`), and
    the answers to `resume` and `ping`. A document the user may not read gets an `error`
    event `not_found` and the socket closes; so does a socket whose user loses access.
    """
    try:
        _document_socket(ws, doc_id)
    finally:
        finish(ws)


def _document_socket(ws: Any, doc_id: str) -> None:
    user = current_user()
    doc = _opened(ws, lambda: load_document(doc_id, READ, user))
    if doc is None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def view() -> dict[str, Any]:
        return document_view(load_document(doc.id, READ, user), user)

    conn = DocumentConnection(ws, doc.id, services().hub, user=user, snapshot=_as_user(app, user, view),
                              parse=lambda raw: parse_command(raw, app.config, commands=DOCUMENT_COMMANDS,
                                                              model=DocumentCommand), **_sign_in(app))
    conn.run()


@sock.route("/ws/documents", bp=bp)
@declare_websocket(tags=["documents"])
def list_socket(ws: Any) -> None:
    """The caller's document list, live: documents they see that are made, shared with them, renamed or changed,
    and those deleted or no longer shared with them (see `x-websocket.lists`).

    Opens with a `hello`; then every event about the list (numbered by `seq`), and the answers to `resume` and
    `ping` (`sync` carries the list's first page).
    """
    try:
        user = current_user()
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        conn = ListConnection(ws, user.id if user is not None else "", services().hub, user=user,
                              snapshot=_as_user(app, user, document_page),
                              parse=lambda raw: parse_command(raw, app.config, commands=LIST_COMMANDS,
                                                              model=DocumentCommand), **_sign_in(app))
        conn.run()
    finally:
        finish(ws)


class SocketThread(threading.Thread):
    """simple_websocket's per-socket thread, as a daemon: a socket the server closed while the thread
    waits for its next ping must not keep a stopping process (gunicorn's worker) alive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, daemon=True, **kwargs)


def init_app(app: Flask) -> None:
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": app.config["WS_PING_INTERVAL"],
        "max_message_size": app.config["WS_MAX_MESSAGE_SIZE"],
        "thread_class": SocketThread,
    })
    app.register_blueprint(bp)
    register_websocket_messages(app, COMMANDS, EVENTS, documents=(DOCUMENT_COMMANDS, DOCUMENT_EVENTS),
                                lists=(LIST_COMMANDS, LIST_EVENTS))
