"""A fake OpenAI-compatible model server: a real HTTP server on 127.0.0.1, scriptable per request.

It speaks the Chat Completions wire format (streaming SSE and plain JSON) and
`GET /v1/models`, so the real `openai` client can be pointed at it. Tests,
browser tests and the stream benchmark use it.

Usage::

    server = FakeOpenAI().start()            # or the `fake_openai` pytest fixture
    client = OpenAI(base_url=server.url, api_key="sk-test-not-a-real-key")
    server.script(
        Reply(text="Hello there", chunks=3),                 # the next request
        Reply(text="Half an ans", end="cut"),               # the one after
        Reply.http_error(429, "Slow down", retry_after=1),
    )
    ...
    server.requests[-1].json["messages"]                    # what was sent
    server.requests[-1].headers["authorization"]            # "Bearer sk-test-..."
    server.requests[-1].disconnected.wait(5)                # the client hung up early
    server.close()                                         # a closed server refuses connections
    server.start()                                         # ...until it starts again, same url

When the script queue is empty every chat request gets `server.default`.
`server.app_config()` is the config that points `create_app` at the server.
"""
from __future__ import annotations

import json
import re
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FAKE_KEY", "FakeOpenAI", "Reply", "ToolCall", "RecordedRequest", "fake_openai"]

ENDINGS = ("done", "stall", "cut", "truncate", "malformed", "error")
# Obviously fake; tests check that it is sent to the server and shown nowhere else.
FAKE_KEY = "sk-test-not-a-real-key"


@dataclass
class ToolCall:
    """A tool call the fake model streams; `arguments` is sent split over `argument_chunks` deltas."""

    name: str
    arguments: str = "{}"
    id: str | None = None
    argument_chunks: int = 3


@dataclass
class Reply:
    """One scripted answer to a chat request.

    - `text` is streamed in `chunks` pieces (default: one per word), or as the
      explicit `tokens` if given, with `delay` seconds before each piece.
    - `tool_calls` follow the text; `omit_index` drops the `index` field from
      their deltas, as some compatible servers do.
    - `end` says how the stream ends after the text: "done" (finish_reason and
      `[DONE]`), "stall" (stop sending for `stall_seconds` without closing, then
      close), "cut" (drop the connection), "truncate" (end the body cleanly,
      with no finish_reason and no `[DONE]`), "malformed" (a chunk that is not
      JSON, then `[DONE]`), "error" (an `{"error": ...}` chunk with `error_message`).
    - `status` other than 200 answers an HTTP error with an OpenAI-shaped body,
      `error_message`, `error_code` and an optional `retry_after` header.
    - `stall_before` seconds of silence before the response headers (a slow start).
    """

    text: str = "Hello from the fake model."
    chunks: int | None = None
    tokens: list[str] | None = None
    delay: float = 0.0
    tool_calls: list[ToolCall] = field(default_factory=list)
    omit_index: bool = False
    end: str = "done"
    stall_seconds: float = 30.0
    finish_reason: str | None = None
    status: int = 200
    error_message: str = "The fake server failed on purpose."
    error_type: str = "server_error"
    error_code: str | None = None
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stall_before: float = 0.0
    usage: bool = True

    def __post_init__(self) -> None:
        if self.end not in ENDINGS:
            raise ValueError(f"end must be one of {ENDINGS}, not {self.end!r}")

    @classmethod
    def http_error(cls, status: int, message: str = "", *, code: str | None = None,
                   retry_after: float | str | None = None, type: str | None = None) -> Reply:
        """An HTTP error answer (401, 404, 429, 500...) in OpenAI's error shape."""
        default_type = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_error"}
        return cls(status=status, error_message=message or f"Fake error {status}.", error_code=code,
                   retry_after=retry_after, error_type=type or default_type.get(status, "server_error"))

    def pieces(self) -> list[str]:
        """The text split as it will be streamed."""
        if self.tokens is not None:
            return list(self.tokens)
        if not self.text:
            return []
        if self.chunks is None:
            return re.findall(r"\S+\s*|\s+", self.text)
        n = max(1, min(self.chunks, len(self.text)))
        size, extra = divmod(len(self.text), n)
        out, pos = [], 0
        for i in range(n):
            step = size + (1 if i < extra else 0)
            out.append(self.text[pos:pos + step])
            pos += step
        return out


@dataclass
class RecordedRequest:
    """A request the server received, and what became of it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    received_at: float = field(default_factory=time.monotonic)
    # Set when the client closed the connection before the reply was complete.
    disconnected: threading.Event = field(default_factory=threading.Event)
    # Set when the server is done with the request (however it ended).
    finished: threading.Event = field(default_factory=threading.Event)
    # time.monotonic() when each streamed text piece was written (only if the server records timing).
    sent_at: list[float] = field(default_factory=list)
    chunks_sent: int = 0


class _ClientGone(Exception):
    """The client closed the connection."""


class FakeOpenAI:
    """The fake server. `url` is the base_url for the openai client (it ends in /v1)."""

    def __init__(self, models: list[str] | None = None, record_timing: bool = False,
                 tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls  # a server context: serve HTTPS
        self.models: list[str] = list(models or ["fake-small", "fake-large"])
        self.default = Reply()
        self.record_timing = record_timing
        self.requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        """Serve in a daemon thread on a free port of 127.0.0.1 (after a close(): on the same port again)."""
        server = self

        class Handler(_Handler):
            fake = server

        self._closing.clear()
        httpd = _Server(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; stalled streams end at once."""
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def app_config(self, **extra: Any) -> dict[str, Any]:
        """Config for `create_app` that points VICE AI at this server (default model "fake-small")."""
        return {"OPENAI_BASE_URL": self.url, "OPENAI_API_KEY": FAKE_KEY, "MODEL": self.models[0], **extra}

    # -- scripting and inspection -----------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in order."""
        with self._lock:
            self._script.extend(replies)

    def clear(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._script.clear()
            self.requests.clear()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded POST /v1/chat/completions requests."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def wait_for_chat(self, count: int = 1, timeout: float = 10.0) -> RecordedRequest:
        """Wait until `count` chat requests have arrived and return the last of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.chat_requests
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.01)
        raise AssertionError(f"expected {count} chat request(s), got {len(self.chat_requests)}")

    # -- used by the handler ----------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _next_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"chatcmpl-fake-{self._counter}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open hundreds of connections at once.
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal here; anything else is printed as usual."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    # -- routing ----------------------------------------------------------------------
    def do_GET(self) -> None:
        rec = self._read_request()
        if rec.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error_body(404, "Not found.", "invalid_request_error", None, {})
        rec.finished.set()

    def do_POST(self) -> None:
        rec = self._read_request()
        try:
            if rec.path.rstrip("/") != "/v1/chat/completions":
                self._send_error_body(404, "Not found.", "invalid_request_error", None, {})
                return
            body = rec.json if isinstance(rec.json, dict) else {}
            reply = self.fake._next_reply()
            if reply.stall_before:
                self._pause(reply.stall_before)
            if reply.status != 200:
                headers = dict(reply.headers)
                if reply.retry_after is not None:
                    headers["Retry-After"] = str(reply.retry_after)
                self._send_error_body(reply.status, reply.error_message, reply.error_type, reply.error_code, headers)
            elif body.get("stream"):
                self._stream(rec, body, reply)
            else:
                self._complete(body, reply)
        except _ClientGone:
            rec.disconnected.set()
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            rec.disconnected.set()
            self.close_connection = True
        finally:
            rec.finished.set()

    # -- helpers ----------------------------------------------------------------------
    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(
            method=self.command, path=self.path.split("?")[0],
            headers={k.lower(): v for k, v in self.headers.items()}, body=raw, json=parsed,
        )
        self.fake._record(rec)
        return rec

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error_body(self, status: int, message: str, type_: str, code: str | None,
                         headers: dict[str, str]) -> None:
        self._send_json(status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers)

    def _pause(self, seconds: float) -> None:
        """Sleep without writing, but notice at once if the client hangs up or the server closes."""
        sock = self.connection
        deadline = time.monotonic() + seconds
        while not self.fake._closing.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([sock], [], [], min(left, 0.05))
            if readable:
                try:
                    peeked = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    raise _ClientGone() from None
                if not peeked:
                    raise _ClientGone()
                # Unexpected bytes from the client: keep waiting without spinning.
                self.fake._closing.wait(min(left, 0.05))
        raise _ClientGone()  # the server is closing: drop the connection

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _event(self, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._write_chunk(b"data: " + data + b"\n\n")

    def _stream(self, rec: RecordedRequest, body: dict[str, Any], reply: Reply) -> None:
        model = body.get("model") or "fake-small"
        base = {"id": self.fake._next_id(), "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "system_fingerprint": "fake"}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        timing = self.fake.record_timing
        self._event(chunk({"role": "assistant", "content": ""}))
        for piece in reply.pieces():
            if reply.delay:
                self._pause(reply.delay)
            self._event(chunk({"content": piece}))
            rec.chunks_sent += 1
            if timing:
                rec.sent_at.append(time.monotonic())
        for n, call in enumerate(reply.tool_calls):
            for delta in _tool_call_deltas(n, call, reply.omit_index):
                if reply.delay:
                    self._pause(reply.delay)
                self._event(chunk({"tool_calls": [delta]}))
                rec.chunks_sent += 1
        if reply.end == "stall":
            self._pause(reply.stall_seconds)
            self.close_connection = True
            self._abort()
            return
        if reply.end == "cut":
            self.close_connection = True
            self._abort()
            return
        if reply.end == "truncate":
            self._write_chunk(b"")  # a well-formed end of the body, but no finish reason and no [DONE]
            return
        if reply.end == "malformed":
            self._event(b'{"id": "broken", "choices": [{"delta": {"content": "oops"')
        elif reply.end == "error":
            self._event({"error": {"message": reply.error_message, "type": reply.error_type,
                                   "code": reply.error_code}})
        else:
            finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
            self._event(chunk({}, finish))
            if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
                pieces = reply.pieces()
                self._event({**base, "choices": [], "usage": {
                    "prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}})
        self._event(b"[DONE]")
        self._write_chunk(b"")  # the zero-length chunk ends the body

    def _abort(self) -> None:
        """Drop the connection in the middle of the body."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _complete(self, body: dict[str, Any], reply: Reply) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.pieces()) or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": call.id or f"call_{n}", "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}
                for n, call in enumerate(reply.tool_calls)
            ]
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        self._send_json(200, {
            "id": self.fake._next_id(), "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or "fake-small",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(reply.pieces()),
                      "total_tokens": 10 + len(reply.pieces())},
        })


def _tool_call_deltas(n: int, call: ToolCall, omit_index: bool) -> Iterator[dict[str, Any]]:
    """The deltas of one streamed tool call: id and name first, then the arguments in pieces."""
    args = call.arguments
    parts = max(1, min(call.argument_chunks, len(args) or 1))
    size = -(-len(args) // parts) if args else 0
    first: dict[str, Any] = {"id": call.id or f"call_{n}", "type": "function",
                             "function": {"name": call.name, "arguments": ""}}
    deltas = [first] + [{"function": {"arguments": args[i:i + size]}} for i in range(0, len(args), size or 1)]
    for delta in deltas:
        if not omit_index:
            delta = {"index": n, **delta}
        yield delta


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started fake OpenAI-compatible server, closed after the test."""
    with FakeOpenAI() as server:
        yield server
