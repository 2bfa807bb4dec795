"""The app's CPU per chat, one chat at a time: websocket, send, a short reply, done, close (no load, little noise).

    .venv/bin/python bench/chat_cost.py                 # 180 chats of 5 tokens (20 more first, not counted)
    .venv/bin/python bench/chat_cost.py --chats 100 --tokens 50 --hello-only

The app runs in its own process as in `bench/stream.py` (`--serve-app`, the same
model server); the chats are sequential, so this is the per-chat work without
the contention of 200 streams at once. Keep chats + 20 within the app's session
cache (200 by default): beyond it every chat reloads its session from disk.
`--hello-only`: open the socket, read `hello`, close (the websocket's own cost).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import stream as bench  # noqa: E402 - bench/ is on the path
from stream_readers import Socket, frame  # noqa: E402


def chat(port: int, session_id: str, hello_only: bool) -> None:
    def on_message(sock: Socket, text: str, _now: float) -> bool:
        event = json.loads(text)
        if event["type"] == "hello":
            if hello_only:
                return False
            sock.send_text(json.dumps({"type": "send", "content": f"hello {session_id}"}))
        elif event["type"] in ("done", "error", "stopped"):
            if event["type"] != "done":
                raise SystemExit(f"chat {session_id}: {event}")
            return False
        return True

    sock = Socket(port, f"/ws/sessions/{session_id}", on_message)
    sock.feed(0)
    while not sock.done:
        got = sock.sock.recv(65536)
        if not got:
            raise SystemExit(f"chat {session_id}: closed early")
        sock.buf += got
        sock.feed(0)
    sock.sock.sendall(frame(0x8, b"\x03\xe8"))
    sock.sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=180)
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--hello-only", action="store_true")
    args = parser.parse_args()
    fake = bench.Child(str(ROOT / "bench" / "fake_model.py"))
    with tempfile.TemporaryDirectory(prefix="vice-chat-cost-") as tmp:
        app = bench.Child(str(ROOT / "bench" / "stream.py"), "--serve-app", tmp, fake.url + "/v1")
        try:
            bench.call(fake.url + "/bench/config", "POST", {"tokens": args.tokens, "delay": 0, "pair": False})
            ids = bench.make_sessions(app, args.chats + 20)
            for session_id in ids[:20]:  # warm-up: imports, first connections, caches
                chat(app.port, session_id, args.hello_only)
            before, started = bench.call(app.url + "/bench/report"), time.perf_counter()
            for session_id in ids[20:]:
                chat(app.port, session_id, args.hello_only)
            time.sleep(0.3)  # the last round's end (notification, search index) runs after `done`
            after, wall = bench.call(app.url + "/bench/report"), time.perf_counter() - started
        finally:
            app.stop()
            fake.stop()
    n = args.chats
    cpu = after["cpu_seconds"] - before["cpu_seconds"]
    print(f"{n} chats x {args.tokens} tokens{' (hello only)' if args.hello_only else ''}, load average "
          f"{os.getloadavg()[0]:.1f}: app {cpu / n * 1e3:.2f} ms CPU per chat (sys "
          f"{(after['sys_seconds'] - before['sys_seconds']) / n * 1e3:.2f}), "
          f"{(after['switches'] - before['switches']) / n:.0f} context switches, wall {wall / n * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
