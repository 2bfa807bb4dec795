"""Helpers for tests of accounts and access: apps in password mode, users signing up and in."""
from __future__ import annotations

import json
import time
from typing import Any

import simple_websocket

PASSWORD = "correct horse battery staple"
# Tests hash with a cheap setting; the app's default is scrypt.
FAST_HASH = "pbkdf2:sha256:1000"


def password_app(make_app, **config: Any):
    """An app with accounts (the default for create_app, but not for the test fixture)."""
    return make_app(**{"AUTH": "password", "PASSWORD_METHOD": FAST_HASH, **config})


def signup(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/signup", json={"username": username, "password": password})


def signin(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/signin", json={"username": username, "password": password})


def create_user(admin_client, username: str, password: str = PASSWORD, **extra: Any) -> dict:
    resp = admin_client.post("/api/users", json={"username": username, "password": password, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def two_users(app) -> tuple[Any, Any]:
    """Clients signed in as "alice" (the first account: an admin) and "bob" (made by alice)."""
    alice, bob = app.test_client(), app.test_client()
    assert signup(alice, "alice").status_code == 201
    create_user(alice, "bob")
    assert signin(bob, "bob").status_code == 200
    return alice, bob


def cookie_header(client) -> str:
    """The client's cookies as a Cookie header (to open a websocket as that user)."""
    cookie = client.get_cookie("vice_ai_session")
    assert cookie is not None, "the client is not signed in"
    return f"vice_ai_session={cookie.value}"


def handshake(port: int, path: str, origin: str | None = None, cookie: str | None = None,
              extra: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A raw websocket upgrade request; returns the status and the body of a refusal."""
    import base64
    import http.client

    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    if origin:
        headers["Origin"] = origin
    if cookie:
        headers["Cookie"] = cookie
    headers.update(extra or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, (resp.read() if resp.status != 101 else b"")
    finally:
        conn.close()


def connect_as(server, session_id: str, client=None):
    """A websocket on a session as the client's user (or with no cookie), past its hello."""
    from conftest import connect_ws

    headers = {"Cookie": cookie_header(client)} if client is not None else None
    return connect_ws(server, session_id, headers=headers)


def closing_events(ws, timeout: float = 5.0) -> list[dict]:
    """Every event until the server closes the socket (fails if it stays open)."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            raw = ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            if raw is not None:
                events.append(json.loads(raw))
    except simple_websocket.ConnectionClosed:
        return events
    raise AssertionError(f"the socket stayed open; got {[e.get('type') for e in events]}")


def assert_signed_out_and_closed(ws) -> None:
    events = closing_events(ws)
    errors = [e for e in events if e["type"] == "error"]
    assert errors and errors[-1]["error"]["code"] == "unauthorized" and errors[-1]["seq"] == 0, events


def still_open(ws) -> bool:
    from conftest import ws_events

    ws.send(json.dumps({"type": "ping"}))
    return ws_events(ws, lambda e: e["type"] == "pong")[-1]["type"] == "pong"
