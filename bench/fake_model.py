"""The stream benchmark's model server, in a process of its own: Chat Completions SSE, paced on a schedule.

    python bench/fake_model.py        # prints its port, then serves until killed

`POST /bench/config {"tokens": n, "delay": s, "pair": bool}` sets what every
chat request streams. With `pair`, two requests carrying the same tag (the last
word of the last message) are one stream read twice: both wait for each other,
then token k goes to both at the same scheduled instant, t0 + k * delay. One is
the app's request, the other a direct reader's (header `X-Bench-Reader`), so
the app's added latency is measured per token against the same stream, under
the same load. `GET /bench/report?reset=1` answers when each token was written,
by tag and reader ("app" or "direct"), in `time.monotonic()` (one clock for every
process on Linux).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ("the", "budget", "covers", "two", "years", "of", "interviews", "with", "forty", "teams")


class Model:
    def __init__(self) -> None:
        self.tokens, self.delay, self.pair = 200, 0.0, False
        self.lock = threading.Lock()
        self.sent: dict[str, list[float]] = {}
        self.rendezvous: dict[str, tuple[threading.Event, list[float]]] = {}

    def start_time(self, tag: str) -> float:
        """The schedule's start: now, or (paired) once both readers of `tag` have asked."""
        if not self.pair:
            return time.monotonic()
        with self.lock:
            found = self.rendezvous.pop(tag, None)
            if found is None:
                ready, box = threading.Event(), []
                self.rendezvous[tag] = (ready, box)
        if found is not None:
            ready, box = found
            box.append(time.monotonic() + 0.05)
            ready.set()
            return box[0]
        if not ready.wait(120):
            raise TimeoutError(tag)
        return box[0]


MODEL = Model()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _json(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/v1/models"):
            self._json({"object": "list", "data": [{"id": "fake-small", "object": "model", "created": 0,
                                                   "owned_by": "bench"}]})
        elif self.path.startswith("/bench/cpu"):
            cpu = os.times()
            self._json({"cpu_seconds": cpu.user + cpu.system})
        else:
            with MODEL.lock:
                sent = dict(MODEL.sent)
                if "reset" in self.path:
                    MODEL.sent.clear()
            self._json(sent)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/bench/config":
            MODEL.tokens, MODEL.delay, MODEL.pair = int(body["tokens"]), float(body["delay"]), bool(body["pair"])
            self._json({"ok": True})
            return
        tag = str(body["messages"][-1]["content"]).split()[-1]
        who = "direct" if self.headers.get("X-Bench-Reader") else "app"
        times: list[float] = []
        with MODEL.lock:
            MODEL.sent[f"{who}:{tag}"] = times
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "fake-small"}

        def event(delta: dict[str, Any], finish: str | None = None) -> None:
            data = b"data: " + json.dumps({**base, "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish}]}).encode() + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        try:
            event({"role": "assistant", "content": ""})
            self.wfile.flush()
            t0 = MODEL.start_time(tag)
            for k in range(MODEL.tokens):
                if MODEL.delay:
                    wait = t0 + (k + 1) * MODEL.delay - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                event({"content": f"{WORDS[k % len(WORDS)]} "})
                self.wfile.flush()
                times.append(time.monotonic())
            event({}, "stop")
            done = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of streams connect at once


def main() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
