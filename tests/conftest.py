"""Shared fixtures: a fresh data folder per test, the app, a client, a real server thread."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, fake_openai  # noqa: F401  (a fixture for every test module)
from flask.testing import FlaskClient
from redis_server import redis_server, redis_url  # noqa: F401  (a real redis-server for the tests that ask)
from werkzeug.serving import make_server
from ws_client import WSClient

from vice_ai import create_app, shutdown

FAKE_KEY = "sk-test-not-a-real-key-0123456789"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's model server or settings."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "VICE_AI_")) and not name.startswith("VICE_AI_REQUIRE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path) -> str:
    path = tmp_path / "data"
    path.mkdir()
    return str(path)


class PageClient(FlaskClient):
    """The test client as the app's own pages call the API: with the CSRF header on every request.

    A test that needs a request without it removes it:
    `client.environ_base.pop("HTTP_X_VICE_CSRF")`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_X_VICE_CSRF"] = "1"


@pytest.fixture
def make_app(data_dir: str) -> Iterator[Callable[..., Any]]:
    """Build apps over the test's data folder (call twice to simulate a restart).

    Apps run in local mode (one user, no sign-in) unless a test asks for AUTH="password".
    """
    apps = []

    def _make(**config: Any):
        app = create_app({"TESTING": True, "DATA_DIR": data_dir, "AUTH": "local", "API_CHECK_RESPONSES": True,
                          **config})
        app.test_client_class = PageClient
        apps.append(app)
        return app

    yield _make
    for app in apps:
        shutdown(app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def model_config(server: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    """App settings that point the model client at a fake OpenAI-compatible server."""
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": FAKE_KEY, "MODEL": "fake-small", **extra}


@pytest.fixture
def model_app(make_app, fake_openai: FakeOpenAI):  # noqa: F811  (the fixture)
    """An app whose model is the fake OpenAI-compatible server."""
    return make_app(**model_config(fake_openai))


class LiveServer:
    """The app in a real threaded werkzeug server on a free localhost port."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        # A short poll: shutdown() waits for serve_forever to next wake up (0.5 s by default).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="live-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        shutdown(self.app)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[[Any], LiveServer]]:
    """Start (and at the end stop) live servers for apps a test builds itself."""
    servers: list[LiveServer] = []

    def _start(app) -> LiveServer:
        server = LiveServer(app)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


# -- helpers for common actions ------------------------------------------------------

def make_document(client, title: str = "Grant proposal", sections: list[dict] | None = None) -> dict:
    """Create a document (by default with two sections) and return it."""
    if sections is None:
        sections = [
            {"title": "Summary", "content": "We ask for funding. The budget is 40,000 euros over two years."},
            {"title": "Methods", "content": "We interview forty teams and code the transcripts."},
        ]
    resp = client.post("/api/documents", json={"title": title, "sections": sections})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def make_session(client, doc: dict, index: int = 0, **body: Any) -> dict:
    section = doc["sections"][index]
    resp = client.post(f"/api/documents/{doc['id']}/sections/{section['id']}/sessions", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def ws_events(ws, until: Callable[[dict], bool], timeout: float = 10.0) -> list[dict]:
    """Read JSON events from a websocket client until `until(event)` holds."""
    import time

    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if raw is None:
            continue
        event = json.loads(raw)
        events.append(event)
        if until(event):
            return events
    raise AssertionError(f"timed out; got {[e.get('type') for e in events]}")


def connect_ws(server, session_id: str, headers: dict[str, str] | None = None):
    """A websocket client on a session, past its hello.

    simple_websocket's client can leave a message that arrived in the same read
    as the handshake answer unprocessed until more data comes: a ping makes the
    server send more, so the hello is never stuck.
    """

    ws = WSClient.connect(f"{server.ws_url}/ws/sessions/{session_id}", headers=headers)
    ws.send(json.dumps({"type": "ping"}))
    events = ws_events(ws, lambda e: e["type"] == "pong")
    assert events[0]["type"] == "hello", events
    return ws


@pytest.fixture
def alice(make_app):
    """A test client signed in as "alice", the first account (an admin) of a password-mode app."""
    from auth_helpers import password_app, signup

    client = password_app(make_app).test_client()
    assert signup(client, "alice").status_code == 201
    return client
