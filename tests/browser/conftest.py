"""Browser tests: the app in a real server, driven through Debian's Chromium with Playwright.

They skip (saying why) when /usr/bin/chromium is missing, and fail instead when
VICE_AI_REQUIRE_BROWSER=1 (CI sets it). One browser per test session, a fresh
context (cookies, storage) per test, a fresh data folder and fake model server per test.
"""
from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from auth_helpers import FAST_HASH
from fake_openai import FakeOpenAI, Reply
from werkzeug.serving import make_server

from vice_ai import shutdown

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FAKE_KEY = "sk-test-not-a-real-key"
VIEWPORT = {"width": 1366, "height": 820}

__all__ = ["Reply", "FAKE_KEY"]


def _unavailable(reason: str) -> None:
    if os.environ.get("VICE_AI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"VICE_AI_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (install Debian's 'chromium' package to run them)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole test session."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} does not exist")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the 'playwright' package is not installed")
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
    except Exception as exc:  # a broken install must read as such, not as a test failure elsewhere
        manager.stop()
        _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    yield chromium
    chromium.close()
    manager.stop()


# Chromium's own lines for an answer the app asked for and handles (a 409 conflict it shows, a 404 it
# explains), and for a server that is not there at all (only when a test stops or restarts it; the page
# must ride it out, which the tests check): the page's behaviour is what matters, not these lines.
HANDLED = (re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d"),
           re.compile(r"net::ERR_CONNECTION_(REFUSED|RESET|CLOSED)\b"))


class PageProbe:
    """What a page did that a user should never see: JS errors, console errors, dialogs (alert/confirm).

    A test that provokes an error on purpose (a server taken away) names it with `allow(pattern)`.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: list[re.Pattern[str]] = list(HANDLED)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def console(self, msg: Any) -> None:
        if msg.type == "error" and not any(p.search(msg.text) for p in self.allowed):
            self.errors.append(f"{msg.text} at {msg.location}")


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., Any]]:
    """Open pages in a fresh browser context; fail the test on any uncaught page error."""
    contexts = []
    probes: list[PageProbe] = []

    def _open(url: str | None = None, context: Any = None):
        if context is None:
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        probe = PageProbe()
        page.on("pageerror", lambda exc: probe.errors.append(str(exc)))
        # Any console error (a CSP refusal, a socket that did not close cleanly...) fails the test.
        page.on("console", probe.console)
        page.on("dialog", lambda dialog: (probe.dialogs.append(dialog.message), dialog.dismiss()))
        page.probe = probe
        probes.append(probe)
        if url:
            page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    errors = [e for p in probes for e in p.errors]
    assert not errors, f"uncaught errors in the page: {errors}"


class Served:
    """The app in a real threaded server; `restart()` replaces it over the same data folder and port.

    A restart closes every open connection (websockets included), as a dying
    process would, so pages must notice and reconnect by themselves.
    """

    def __init__(self, make_app: Callable[..., Any], config: dict[str, Any]) -> None:
        self.make_app = make_app
        # One local user who owns everything: the UI under test, not sign-in.
        self.config = {"AUTH": "local", **config}
        self.port = 0
        self.server = None
        self.app = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.app = self.make_app(**self.config)
        server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        accept = server.process_request

        def process_request(request, client_address):
            with self._lock:
                self._connections.add(request)
            accept(request, client_address)

        server.process_request = process_request
        self.server = server
        self.port = server.server_port
        # A short poll: shutdown() waits for serve_forever to next wake up (0.5 s by default).
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="browser-test-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        shutdown(self.app)  # generations and notification streams
        self.server.server_close()
        self.thread.join(5)
        self.server = None

    def restart(self) -> Served:
        """Stop this app and start a new one over the same data folder on the same port."""
        self.stop()
        return self.start()

    def api(self, method: str, path: str, body: Any = None, *, user: str | None = None) -> Any:
        """Call the JSON API from the test (to set up or check state a user would see); `user`: as that user, named
        by the trusted proxy's header (`served_header`)."""
        import json
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-VICE-CSRF": "1"}
        if user is not None:
            headers["X-Forwarded-User"] = user
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible model server for this test."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def served(make_app, model: FakeOpenAI) -> Iterator[Served]:
    """The app, talking to the fake model, in a real server on a free port with a fresh data folder."""
    server = Served(make_app, {"OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": FAKE_KEY, "MODEL": "fake-model"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def doc(served: Served) -> dict:
    """A document with two sections, made through the API (the UI test for creating one is separate)."""
    return served.api("POST", "/api/documents", {
        "title": "Grant proposal",
        "sections": [
            {"title": "Summary", "content": "We ask for funding. The budget is 40,000 euros over two years."},
            {"title": "Methods", "content": "We interview forty teams and code the transcripts."},
        ],
    })


@pytest.fixture
def served_header(make_app, model):
    """The app with users named by a trusted proxy's header (each browser context sends its own)."""
    server = Served(make_app, {"AUTH": "header", "OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": FAKE_KEY,
                               "MODEL": "fake-model"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def served_accounts(make_app, model):
    """The app with accounts and open sign-up, in a real server."""
    server = Served(make_app, {"AUTH": "password", "SIGNUP": "open", "PASSWORD_METHOD": FAST_HASH,
                               "OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": "sk-test-not-a-real-key",
                               "MODEL": "fake-model"})
    server.start()
    yield server
    server.stop()
