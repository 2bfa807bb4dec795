"""The development/production-lite server `run.py` starts (werkzeug's threaded server).

Errors that the HTTP server itself answers before the app runs (a request line
or URL over its limit: 414, a malformed request: 400) get the app's one JSON
error shape and its security headers instead of the standard library's HTML page.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import default_exceptions
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .security.csrf import HEADERS


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


def make_json_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """A threaded werkzeug server for `app` whose own errors are JSON."""
    return make_server(host, port, app, threaded=True, request_handler=JSONErrorRequestHandler)
