"""What a chat costs at the least on this stack: a bare flask-sock socket and three durable appends, beside the app.

    .venv/bin/python bench/chat_floor.py               # 300 of each, 3 rounds in turn
    .venv/bin/python bench/chat_floor.py --count 100 --rounds 1

The unpaced streaming goal (`bench/stream.py`: 200 chats x 500 tokens at 0.8x the
direct readers) leaves the app about a quarter of the baseline's CPU for reading
a stream (~2.4 ms a chat) on top of it (docs/benchmarks/streaming.md, round 6).
This measures, one at a time, in the same run and each in a process of its own
served by the same threaded werkzeug server as the app, with the same client
(bench/stream_readers.Socket):

- **bare socket**: a Flask app whose one route is a flask-sock websocket that
  receives one message, answers it and returns: open, one round trip, close.
  No access check, no session, no hub: the least any chat socket costs with the
  design card's flask + flask-sock.
- **three durable appends**: what a chat saves (the question, the reply's start,
  the reply), each a ~600-byte JSON line appended and fdatasync'ed, as the
  journal does; in the bare process, so it is its own CPU (user + sys).
- **app socket** and **app chat**: `bench/chat_cost.py`'s two measures (a
  socket's open, `hello` and close; a whole chat of 5 tokens) on the app.

CPU is each server process's own (getrusage), so the client's work is not in it.

The same server also has **the least relay** (`/ws/sessions/<tag>`), which
`bench/stream.py --floor` runs beside the app: on a `send` it saves the
question durably, reads the model stream exactly as the app and the direct
readers do (the app's backend and reactor), passes the text on as `delta`
events (all the text that arrived since the last one, as the app coalesces),
saves the reply's start and end durably and sends `done`. No access check,
session, lease, hub, render, notification or search index. The reactor's
thread never writes to a socket itself (a slow tab would stall every stream):
the request's thread does, so a chat has three threads (the app has four).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import chat_cost  # noqa: E402 - bench/ is on the path
import stream as bench  # noqa: E402
from stream_readers import KEY, MODEL, Socket, frame  # noqa: E402


def cpu(who: int = resource.RUSAGE_SELF) -> dict[str, Any]:
    """As `bench/stream.py`'s app reports it."""
    usage = resource.getrusage(who)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "sys_seconds": usage.ru_stime,
            "switches": usage.ru_nvcsw + usage.ru_nivcsw, "max_rss_kb": usage.ru_maxrss, "gc2": [0, 0, 0]}


class Journal:
    """A new file per chat; each line appended and fdatasync'ed (the first also fsyncs the folder), as the app saves."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.folder = str(path.parent)
        self.new = True

    def append(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())
        os.fdatasync(self.fd)
        if self.new:
            self.new = False
            folder = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

    def close(self) -> None:
        os.close(self.fd)


def relay(ws: Any, backend: Any, journal: Journal) -> None:
    """One chat on the least relay: the question saved, the model's text passed on as it comes, the reply saved."""
    from vice_ai.llm.base import ChatRequest, Chunk, TextDelta

    command = json.loads(ws.receive())
    journal.append({"role": "user", "content": command["content"]})
    journal.append({"role": "assistant", "status": "streaming", "content": ""})
    parts: list[str] = []
    arrived = threading.Condition()
    ended: list[BaseException | None] = []

    def sink(chunk: Chunk) -> None:
        if isinstance(chunk, TextDelta):
            with arrived:
                parts.append(chunk.text)
                arrived.notify()

    def read() -> None:
        failure = None
        try:
            for chunk in backend.stream(ChatRequest(MODEL, [
                    {"role": "user", "content": command["content"]}]), threading.Event(), sink):
                sink(chunk)
        except BaseException as exc:  # told to the client below
            failure = exc
        with arrived:
            ended.append(failure)
            arrived.notify()

    threading.Thread(target=read, daemon=True).start()
    reply: list[str] = []
    while True:
        with arrived:
            while not parts and not ended:
                arrived.wait()
            text, done = "".join(parts), bool(ended)
            parts.clear()
        if text:
            reply.append(text)
            ws.send(json.dumps({"type": "delta", "text": text}))
        if done and not text:
            break
    journal.append({"role": "assistant", "status": "complete", "content": "".join(reply)})
    ws.send(json.dumps({"type": "done"} if ended[0] is None else {"type": "error", "error": repr(ended[0])}))


def serve_bare(data_dir: str, fake_url: str) -> None:
    """Child process: a flask-sock echo route, a route doing three durable appends, the least relay and a report."""
    import logging

    from flask import Flask, jsonify
    from flask_sock import Sock
    from werkzeug.serving import make_server

    from vice_ai.llm.openai_backend import OpenAIBackend
    from vice_ai.serving import settle_heap

    backend = OpenAIBackend(api_key=KEY, base_url=fake_url, idle_timeout=120)
    app = Flask(__name__)
    sock = Sock(app)
    line = (json.dumps({"op": "message", "text": "x" * 500}) + "\n").encode()
    counter = iter(range(10**9))

    @sock.route("/ws/echo")
    def echo(ws: Any) -> None:
        ws.send(json.dumps({"type": "hello"}))
        ws.send(ws.receive())

    @sock.route("/ws/sessions/<tag>")
    def chat(ws: Any, tag: str) -> None:
        journal = Journal(Path(data_dir, f"chat-{tag}-{next(counter)}.jsonl"))
        try:
            relay(ws, backend, journal)
        finally:
            journal.close()

    @app.post("/appends")
    def appends() -> Any:
        path = Path(data_dir, f"journal-{next(counter)}.jsonl")
        before = cpu(resource.RUSAGE_THREAD)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for _ in range(3):
                os.write(fd, line)
                os.fdatasync(fd)
        finally:
            os.close(fd)
        folder = os.open(data_dir, os.O_RDONLY)  # a new journal file: its directory entry too
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        after = cpu(resource.RUSAGE_THREAD)
        return jsonify({key: after[key] - before[key] for key in after})

    @app.get("/bench/report")
    def report() -> Any:
        return jsonify(cpu())

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settle_heap()  # as the app is served
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(1024)  # hundreds of sockets connect at once
    print(server.port, flush=True)
    server.serve_forever()


def bare_socket(port: int) -> None:
    def on_message(sock: Socket, text: str, _now: float) -> bool:
        if json.loads(text)["type"] == "hello":
            sock.send_text(json.dumps({"type": "ping"}))
            return True
        return False

    sock = Socket(port, "/ws/echo", on_message)
    sock.feed(0)
    while not sock.done:
        got = sock.sock.recv(65536)
        if not got:
            raise SystemExit("bare socket: closed early")
        sock.buf += got
        sock.feed(0)
    sock.sock.sendall(frame(0x8, b"\x03\xe8"))
    sock.sock.close()


def per_op(server: bench.Child, count: int, op: Any) -> float:
    """The server's CPU per call of `op`, in ms."""
    before = bench.call(server.url + "/bench/report")["cpu_seconds"]
    for n in range(count):
        op(n)
    time.sleep(0.3)  # what a chat does after `done` (notification, search index)
    return (bench.call(server.url + "/bench/report")["cpu_seconds"] - before) / count * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"bare socket": [], "three durable appends": [],
                                       "app socket": [], "app chat": []}
    fake = bench.Child(str(ROOT / "bench" / "fake_model.py"))
    with tempfile.TemporaryDirectory(prefix="vice-floor-") as tmp:
        Path(tmp, "bare").mkdir()
        bare = bench.Child(__file__, "--serve-bare", str(Path(tmp, "bare")), fake.url + "/v1")
        app = bench.Child(str(ROOT / "bench" / "stream.py"), "--serve-app", str(Path(tmp, "app")), fake.url + "/v1")
        try:
            bench.call(fake.url + "/bench/config", "POST", {"tokens": 5, "delay": 0, "pair": False})
            # Every chat on a session of its own, within the app's session cache (200 by default).
            ids = bench.make_sessions(app, min(args.count, 180) + 20)
            for n in range(20):  # warm-up: imports, first connections, caches
                bare_socket(bare.port)
                bench.call(bare.url + "/appends", "POST", {})
                chat_cost.chat(app.port, ids[n], hello_only=False)
            chats = ids[20:]
            for _ in range(args.rounds):
                figures["bare socket"].append(per_op(bare, args.count, lambda n: bare_socket(bare.port)))
                appends = [bench.call(bare.url + "/appends", "POST", {})["cpu_seconds"] for _ in range(args.count)]
                figures["three durable appends"].append(statistics.median(appends) * 1e3)
                figures["app socket"].append(per_op(app, args.count, lambda n: chat_cost.chat(
                    app.port, chats[n % len(chats)], hello_only=True)))
                figures["app chat"].append(per_op(app, len(chats), lambda n: chat_cost.chat(
                    app.port, chats[n], hello_only=False)))
        finally:
            for child in (app, bare, fake):
                child.stop()
    print(f"{args.count} of each (app chats: {len(chats)}), {args.rounds} rounds in turn, load average "
          f"{os.getloadavg()[0]:.1f}; server CPU per operation, median (min-max) over rounds:")
    for name, values in figures.items():
        print(f"  {name:<22} {statistics.median(values):6.2f} ms ({min(values):.2f}-{max(values):.2f})")
    floor = statistics.median(figures["bare socket"]) + statistics.median(figures["three durable appends"])
    print(f"  floor (bare socket + appends) {floor:.2f} ms = "
          f"{floor / statistics.median(figures['app chat']):.2f}x the app's chat")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-bare":
        serve_bare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
