"""The stream benchmark's readers, a process of their own: `python bench/stream_readers.py < spec.json`.

Direct readers read the model server as the app does (the app's own backend:
the request through the openai client in a thread each, the body by the app's
reactor thread and SSE decoder), unpaced; the app's
websockets, and paced also the direct readers (the latency reference), are read
by one thread and one selector (`read_all`).

A thread per socket (and simple_websocket's second thread per socket, and its
per-message events) costs the readers' process more CPU than the app spends on
the same tokens, and that process shares the machine with the app. This reader
does only what a websocket client must: the handshake, one masked text frame
out per socket, and unmasked frames in (text, ping answered, close), all in one
thread. Arrival times are taken right after each `recv`, before any parsing.
"""
from __future__ import annotations

import base64
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
MODEL, KEY = "fake-small", "sk-bench-not-a-real-key"


def _mask(mask: bytes, payload: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + _mask(mask, payload)


class Socket:
    """One websocket: connected and upgraded at once (blocking), then read by `read_all`."""

    def __init__(self, port: int, path: str, on_message: Callable[[Socket, str, float], bool]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError(f"{path}: closed during the handshake")
            buf += got
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"{path}: {head[:80]!r}")
        self.on_message = on_message  # (socket, text, arrival time) -> False when this socket is done
        self.done = False
        self.tag: str = ""
        self.failure: str | None = None
        self.parts: list[bytes] = []

    def send_text(self, text: str) -> None:
        self.sock.sendall(frame(0x1, text.encode()))

    def feed(self, now: float) -> None:
        """Take every whole frame in the buffer."""
        buf, pos = self.buf, 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, at = b1 & 0x7F, pos + 2
            if n == 126:
                if len(buf) - at < 2:
                    break
                n, at = struct.unpack_from("!H", buf, at)[0], at + 2
            elif n == 127:
                if len(buf) - at < 8:
                    break
                n, at = struct.unpack_from("!Q", buf, at)[0], at + 8
            if len(buf) - at < n:
                break
            payload, pos = buf[at:at + n], at + n
            opcode = b0 & 0x0F
            if opcode in (0x0, 0x1):
                self.parts.append(payload)
                if b0 & 0x80:
                    text, self.parts = b"".join(self.parts).decode(), []
                    if not self.on_message(self, text, now):
                        self.done = True
            elif opcode == 0x9:
                self.sock.sendall(frame(0xA, payload))
            elif opcode == 0x8:
                self.done = True
        self.buf = buf[pos:]


class SSEStream:
    """One streamed chat completion read directly from the model server, for the selector reader: a minimal
    HTTP/1.1 chunked reader, then the app's own SSE decoder (vice_ai/llm/sse.py) on each whole event."""

    def __init__(self, port: int, model: str, key: str, tag: str, times: list[float]) -> None:
        body = json.dumps({"model": model, "stream": True,
                           "messages": [{"role": "user", "content": f"Bench {tag}"}]}).encode()
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                        f"X-Bench-Reader: direct\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        self.times, self.tag = times, tag
        self.buf, self.body, self.headers_done, self.done = b"", b"", False, False
        self.failure: str | None = None
        from vice_ai.llm import sse  # imported before the run, not while reading
        from vice_ai.llm.base import TextDelta

        self.sse, self.text_delta = sse, TextDelta

    def start(self) -> None:
        self.sock.sendall(self.request)

    def feed(self, now: float) -> None:
        sse, text_delta = self.sse, self.text_delta
        if not self.headers_done:
            head, found, rest = self.buf.partition(b"\r\n\r\n")
            if not found:
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self.failure, self.done = repr(head[:80]), True
                return
            self.headers_done, self.buf = True, rest
        buf, pos = self.buf, 0
        while True:  # chunked transfer encoding: size line, data, CRLF
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(buf[pos:end], 16)
            if len(buf) < end + 2 + size + 2:
                break
            self.body += buf[end + 2:end + 2 + size]
            pos = end + 2 + size + 2
            if size == 0:
                self.done = True
                break
        self.buf = buf[pos:]
        cut = self.body.rfind(b"\n\n")
        if cut < 0:
            return
        whole, self.body = self.body[:cut + 2], self.body[cut + 2:]
        for event in sse.events(whole.decode().split("\n")):
            if event.data == sse.DONE:
                self.done = True
                return
            for chunk in sse.decode(event).chunks:
                if isinstance(chunk, text_delta):
                    self.times.append(now)


def read_all(sockets: list[Any], timeout: float = 120.0) -> None:
    """Read every socket until its `on_message` says it is done (one thread, one selector)."""
    sel = selectors.DefaultSelector()
    for ws in sockets:
        ws.sock.setblocking(False)
        sel.register(ws.sock, selectors.EVENT_READ, ws)
        if ws.buf:
            ws.feed(time.monotonic())
    left = sum(1 for ws in sockets if not ws.done)
    deadline = time.monotonic() + timeout
    while left:
        ready = sel.select(1.0)
        now = time.monotonic()
        if not ready and now > deadline:
            raise TimeoutError(f"{left} sockets still open")
        for key, _ in ready:
            ws = key.data
            try:
                got = ws.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not got:
                ws.done = True
            else:
                ws.buf += got
                ws.feed(now)
            if ws.done:
                sel.unregister(ws.sock)
                ws.sock.close()
                left -= 1
                deadline = now + timeout
    sel.close()


def send_command(ws: Socket, command: dict[str, Any]) -> None:
    ws.send_text(json.dumps(command))


def read_raw(backend: Any, tag: str, times: list[float]) -> None:
    """One stream exactly as the app reads its model: the app's own backend, the request sent through the openai
    client in this thread, the body read by the app's reactor thread and decoded by vice_ai/llm/sse.py."""
    from vice_ai.llm.base import ChatRequest, Chunk, TextDelta

    def sink(chunk: Chunk) -> None:
        if isinstance(chunk, TextDelta):
            times.append(time.monotonic())

    for chunk in backend.stream(ChatRequest(MODEL, [{"role": "user", "content": f"Bench {tag}"}]), threading.Event(),
                                sink):
        sink(chunk)


def read_threads(client: Any, tag: str, times: list[float]) -> None:
    """One stream in its own thread, as the app read it before the reactor: the raw response, decoded by
    vice_ai/llm/sse.py."""
    from vice_ai.llm import sse
    from vice_ai.llm.base import TextDelta

    with client.chat.completions.with_streaming_response.create(
            model=MODEL, messages=[{"role": "user", "content": f"Bench {tag}"}], stream=True,
            extra_headers={"X-Bench-Reader": "direct"}) as response:
        for event in sse.events(response.iter_lines()):
            if event.data == sse.DONE:
                break
            for chunk in sse.decode(event).chunks:
                if isinstance(chunk, TextDelta):
                    times.append(time.monotonic())


def read_typed(client: Any, tag: str, times: list[float]) -> None:
    """One stream through the openai client's typed chunks (what most code does)."""
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"Bench {tag}"}],
                                            stream=True, extra_headers={"X-Bench-Reader": "direct"})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            times.append(time.monotonic())


def read_app(ws: Any, sid: str, times: list[float]) -> None:
    """One websocket: send a message, then the arrival time of each token's delta (a merged delta: its tokens)."""
    ws.send(json.dumps({"type": "send", "content": f"Bench {sid}"}))
    while True:
        raw = ws.receive(120)
        now = time.monotonic()
        if raw is None:
            raise RuntimeError(f"{sid}: timed out")
        event = json.loads(raw)
        if event["type"] == "delta":
            times.extend([now] * event["text"].count(" "))  # every bench token ends with one space
        elif event["type"] in ("done", "error", "stopped"):
            ws.close()
            if event["type"] != "done":
                raise RuntimeError(f"{sid}: {event['type']} {event.get('error')}")
            return


def run_readers(spec: dict[str, Any]) -> dict[str, Any]:
    """Child process: read streams (direct raw/typed in threads, as the app reads its model; app websockets
    in one selector thread, or with --ws-threads a simple_websocket client and thread each; paired: both)."""
    import resource

    import httpx2
    import openai

    n = len(spec["tags"])
    client = openai.OpenAI(base_url=spec["fake_url"], api_key=KEY, max_retries=0, timeout=120,
                           http_client=httpx2.Client(limits=httpx2.Limits(max_connections=n + 10)))
    from vice_ai.llm.openai_backend import OpenAIBackend

    backend = OpenAIBackend(api_key=KEY, base_url=spec["fake_url"], idle_timeout=120)
    jobs: list[tuple[str, Any, tuple[Any, ...]]] = []
    got: dict[str, list[float]] = {}
    sockets: list[Any] = []
    # Paced, the direct readers are the latency reference: read in the selector thread too (a stricter
    # reference than a thread each: they get each token sooner), through the app's own SSE decoder.
    selector_direct = spec["mode"] == "paired" and not spec.get("ws_threads")
    for tag in spec["tags"]:
        if selector_direct:
            sockets.append(SSEStream(int(spec["fake_url"].rsplit(":", 1)[1].split("/")[0]), MODEL, KEY, tag,
                                     got.setdefault(f"direct:{tag}", [])))
        elif spec["mode"] == "raw":
            jobs.append((f"direct:{tag}", read_raw, (backend, tag)))
        elif spec["mode"] in ("threads", "paired"):
            jobs.append((f"direct:{tag}", read_threads, (client, tag)))
        if spec["mode"] == "typed":
            jobs.append((f"direct:{tag}", read_typed, (client, tag)))
        if spec["mode"] in ("app", "paired"):
            path = f"/ws/sessions/{tag}"
            if spec.get("ws_threads"):
                import simple_websocket

                ws = simple_websocket.Client.connect(f"ws://127.0.0.1:{spec['app_port']}{path}")
                jobs.append((f"app:{tag}", read_app, (ws, tag)))
            else:
                sockets.append(_app_socket(spec["app_port"], tag, got.setdefault(f"app:{tag}", [])))
    if sockets:
        jobs.append(("app-sockets", _read_sockets, (sockets,)))
    barrier = threading.Barrier(len(jobs) + 1)
    failures: list[str] = []

    def worker(key: str, fn: Any, args: tuple[Any, ...]) -> None:
        times = got.setdefault(key, [])
        barrier.wait()
        try:
            fn(*args, times)
        except Exception as exc:  # reported, and the run fails
            failures.append(f"{key}: {exc!r}")

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for t in threads:
        t.start()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    end = resource.getrusage(resource.RUSAGE_SELF)
    got.pop("app-sockets", None)
    failures += [f"{ws.tag}: {ws.failure}" for ws in sockets if ws.failure]
    return {"seconds": time.monotonic() - start, "start": start, "got": got, "failures": failures,
            "cpu_seconds": end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime}


def _app_socket(port: int, tag: str, times: list[float]) -> Any:
    """One app websocket for the selector reader: the arrival time of each token's delta, until `done`."""
    def on_message(ws: Any, raw: str, now: float) -> bool:
        event = json.loads(raw)
        kind = event["type"]
        if kind == "delta":
            times.extend([now] * event["text"].count(" "))  # every bench token ends with one space
        elif kind in ("done", "error", "stopped"):
            if kind != "done":
                ws.failure = f"{kind} {event.get('error')}"
            return False
        return True

    ws = Socket(port, f"/ws/sessions/{tag}", on_message)
    ws.tag = tag
    return ws


def _read_sockets(sockets: list[Any], _times: list[float]) -> None:
    for ws in sockets:
        if hasattr(ws, "start"):
            ws.start()  # a direct reader's request
        else:
            send_command(ws, {"type": "send", "content": f"Bench {ws.tag}"})
    read_all(sockets)


if __name__ == "__main__":
    print(json.dumps(run_readers(json.loads(sys.stdin.read()))), flush=True)
    os._exit(0)  # no waiting for the clients' background threads
