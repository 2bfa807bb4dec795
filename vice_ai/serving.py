"""The development/production-lite server `run.py` starts (werkzeug's threaded server).

Errors that the HTTP server itself answers before the app runs (a request line
or URL over its limit: 414, a malformed request: 400) get the app's one JSON
error shape and its security headers instead of the standard library's HTML page.

`serve_until_signalled` runs it until SIGTERM (systemd, docker stop) or SIGINT
(Ctrl-C), both the same way: stop accepting, then the app's shutdown (running
replies saved as `interrupted`, sockets told `restarting` and closed), exit 0.
A second signal while that runs ends the process at once.
"""
from __future__ import annotations

import gc
import json
import logging
import signal
import threading
from collections.abc import Callable
from http import HTTPStatus
from types import FrameType
from typing import Any

from werkzeug.exceptions import default_exceptions
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .security.csrf import HEADERS

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class JSONErrorRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering its own errors as JSON."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The same code the app gives the same status (werkzeug's name for it).
        known = default_exceptions.get(code)
        name = known().name if known is not None else HTTPStatus(code).phrase
        error = {"code": name.lower().replace(" ", "_"), "message": message or name}
        body = json.dumps({"error": error}).encode()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)


def settle_heap() -> None:
    """Keep what the app built at start-up out of the garbage collector's full passes (call once, when the
    process is about to serve).

    A full collection scans every tracked object and stops every thread while it runs: with the app
    loaded and hundreds of streams it paused the process for 0.1-0.4 s (docs/benchmarks/streaming.md),
    which every live reply felt as a stall. Start-up objects live as long as the process, so they are
    collected once and frozen (`gc.freeze`); later full passes scan only what came after.
    """
    gc.collect()
    gc.freeze()


def make_json_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """A threaded werkzeug server for `app` whose own errors are JSON."""
    return make_server(host, port, app, threaded=True, request_handler=JSONErrorRequestHandler)


def serve_until_signalled(server: BaseWSGIServer, on_stop: Callable[[], None]) -> int:
    """Serve until SIGTERM or SIGINT, then stop accepting and run `on_stop`; returns the exit status (0).

    Call it from the main thread (signal handlers run there, and `serve_forever`
    runs there too, so the handler asks another thread to stop the loop).
    """
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        for sig in STOP_SIGNALS:  # a second signal: the default, which ends the process at once
            signal.signal(sig, signal.SIG_DFL)
        log.info("%s: stopping (running replies are saved, open pages reconnect)", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, name="stop-serving", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        server.serve_forever()  # werkzeug closes the listening socket when it returns
    finally:
        if not stopping.is_set():
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    on_stop()
    return 0
