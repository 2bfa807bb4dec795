"""Benchmark of streaming: the app relaying model tokens to websockets, against reading them directly.

Run from the repository root:

    .venv/bin/python bench/stream.py            # 50 and 200 sessions x 500 tokens, then 200 paced
    .venv/bin/python bench/stream.py --quick    # 10 and 50 sessions x 200 tokens

For each load, in the same run:

- direct: N threads read N streams from the fake OpenAI-compatible server
  (tests/fake_openai.py, in this process) with the openai client;
- app: N websocket clients each send one message to their own chat session on
  the app (a separate process serving with werkzeug's threaded server, talking
  to the same fake server), and read the delta events until `done`.

The loads: N streams "with no delay" (the fake server writes as fast as it
can; the benchmark the goal is stated for), best of --repeat passes; then the
largest N with each stream paced at --paced tokens per second (closer to a real
model, one pass).

Figures: throughput (tokens delivered per second); token latency, from the
fake server writing a token to the reader having it; "app adds", from the
app's model client handing a token over to the app starting to write it to the
websocket (and to that write returning: a write waits while the reader's
receive buffer is full); the app process's peak RSS and CPU. Both processes
run on this machine, and time.monotonic() is the same clock in both (Linux).
Other work on the machine skews every figure: the load average is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vice_ai.services import services

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MODEL = "fake-small"
KEY = "sk-bench-not-a-real-key"


def tokens(n: int) -> list[str]:
    """n short word-like tokens, about the size of real ones."""
    words = ("the", "budget", "covers", "two", "years", "of", "interviews", "with", "forty", "teams")
    return [f"{words[k % len(words)]} " for k in range(n)]


def dump_stacks(*_: Any) -> None:
    """Print where every thread is (a debugging aid: kill -USR1 <pid>)."""
    import collections
    import traceback

    seen = collections.Counter(
        "".join(traceback.format_stack(frame)[-8:]) for frame in sys._current_frames().values())
    for stack, count in seen.most_common():
        print(f"--- {count} thread(s):\n{stack}", file=sys.stderr, flush=True)


# -- the app, in its own process ---------------------------------------------------------------

def serve_app(data_dir: str, fake_url: str) -> None:
    """Child process: the app in a threaded werkzeug server, instrumented, plus a /bench/report route."""
    import logging

    from flask import jsonify, request
    from werkzeug.serving import make_server

    from vice_ai import create_app
    from vice_ai.live.connection import SessionConnection
    from vice_ai.llm.base import TextDelta

    signal.signal(signal.SIGUSR1, dump_stacks)  # thread stacks on demand (kill -USR1)
    profiles: list[Any] = []
    if os.environ.get("BENCH_PROFILE"):
        # Profile every thread (werkzeug handlers, websocket readers, chat workers).
        import cProfile

        original_run = threading.Thread.run

        def profiled_run(self: threading.Thread) -> None:
            prof = cProfile.Profile()
            profiles.append(prof)
            prof.runcall(original_run, self)

        threading.Thread.run = profiled_run  # type: ignore[method-assign]

    app = create_app({
        "DATA_DIR": data_dir, "OPENAI_BASE_URL": fake_url, "OPENAI_API_KEY": KEY, "MODEL": MODEL,
        "MODELS": [MODEL], "AUTH": "local", "RATE_MESSAGES": "1000000/minute", "WS_PING_INTERVAL": 60,
    })
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    # When the app's model client hands over each token, and when the socket writer has
    # written each delta: the difference is the time the app adds (both keyed by session).
    received: dict[str, list[float]] = {}
    written: dict[str, list[float]] = {}
    writing: dict[str, list[float]] = {}
    llm = services(app).llm
    inner_stream = llm.backend.stream

    def timed_stream(req: Any, cancel: threading.Event):
        times = received.setdefault(str(req.messages[-1].get("content")).split()[-1], [])
        for chunk in inner_stream(req, cancel):
            if isinstance(chunk, TextDelta):
                times.append(time.monotonic())
            yield chunk

    llm.backend.stream = timed_stream  # type: ignore[method-assign]
    inner_send = SessionConnection._send_events

    def timed_send(self: SessionConnection, events: list[dict[str, Any]]) -> None:
        before = time.monotonic()
        inner_send(self, events)
        after = time.monotonic()
        count = sum(1 for e in events if e.get("type") == "delta")
        writing.setdefault(self.session_id, []).extend([before] * count)
        written.setdefault(self.session_id, []).extend([after] * count)

    SessionConnection._send_events = timed_send  # type: ignore[method-assign]

    @app.get("/bench/report")
    def report():
        if profiles:
            import pstats

            stats = pstats.Stats(profiles[0])
            for prof in profiles[1:]:
                try:
                    stats.add(prof)
                except TypeError:
                    pass  # a thread still running
            stats.dump_stats(os.environ["BENCH_PROFILE"])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        body = {"received": dict(received), "writing": dict(writing), "written": dict(written), "max_rss_kb": usage.ru_maxrss,
                "cpu_seconds": usage.ru_utime + usage.ru_stime, "threads": threading.active_count()}
        if request.args.get("reset"):
            received.clear()
            writing.clear()
            written.clear()
        return jsonify(body)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(1024)  # hundreds of sockets connect at once
    print(server.server_port, flush=True)
    server.serve_forever()


class AppProcess:
    def __init__(self, data_dir: str, fake_url: str) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-app", data_dir, fake_url],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "X-VICE-CSRF": "1"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


# -- measuring -----------------------------------------------------------------------------------

@dataclass
class Run:
    """One pass at one concurrency level, direct or through the app."""

    path: str
    sessions: int
    tokens: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # fake server wrote -> reader has it
    # The app's model client has the token -> the app starts writing it to the socket / the write returned
    # (a write blocks while the client's receive buffer is full: that part is the reader being slow).
    handed: list[float] = field(default_factory=list)
    added: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.sessions * self.tokens / self.seconds


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def gaps(earlier: list[float], later: list[float], what: str) -> list[float]:
    """Per-token differences between two timestamp lists of one stream."""
    if len(earlier) != len(later):
        raise SystemExit(f"{what}: {len(earlier)} tokens at one end, {len(later)} at the other")
    return [b - a for a, b in zip(earlier, later, strict=True)]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _race(reader, keys, barrier: threading.Barrier) -> float:
    """Run reader(key) in one thread per key, all released together; seconds until the last ends."""
    threads = [threading.Thread(target=reader, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    return time.monotonic() - start


def sent_times(fake: Any) -> dict[str, list[float]]:
    """When the fake server wrote each token, by the tag at the end of the user's message."""
    return {r.json["messages"][-1]["content"].split()[-1]: r.sent_at for r in fake.chat_requests}


def run_direct(fake: Any, sessions: int, n_tokens: int) -> Run:
    """N openai clients read N streams straight from the fake server."""
    import httpx2
    import openai

    client = openai.OpenAI(base_url=fake.url, api_key=KEY, max_retries=0, timeout=120,
                           http_client=httpx2.Client(limits=httpx2.Limits(max_connections=sessions + 10)))
    barrier = threading.Barrier(sessions + 1)
    got: dict[str, list[float]] = {f"direct-{i}": [] for i in range(sessions)}

    def reader(tag: str) -> None:
        times = got[tag]
        barrier.wait()
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Bench {tag}"}], stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.monotonic())

    driver_before = _cpu()
    fake.clear()
    seconds = _race(reader, list(got), barrier)
    client.close()
    sent = sent_times(fake)
    return Run("direct", sessions, n_tokens, seconds,
               [x for tag, times in got.items() for x in gaps(sent[tag], times, tag)],
               extra={"driver_cpu": _cpu() - driver_before})


def run_app(fake: Any, app: AppProcess, sessions: int, n_tokens: int) -> Run:
    """N websocket clients on N sessions each send a message and read the reply's deltas."""
    import simple_websocket

    ids = []
    for n in range(sessions):
        # One document per session, as for separate users: a document's other sessions get
        # a notification when a reply finishes there, which is a different load.
        doc = app.call("POST", "/api/documents", {"title": f"Bench {n}", "sections": [
            {"title": "Summary", "content": "We ask for funding. The budget is 40,000 euros."}]})
        section = doc["sections"][0]["id"]
        ids.append(app.call("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {})["id"])
    # No waiting for the hello: simple_websocket's client can leave a message that came
    # with the handshake answer unread until more data arrives. Readers skip it; the
    # server reads commands only once the socket is subscribed.
    sockets = {sid: simple_websocket.Client.connect(f"ws://127.0.0.1:{app.port}/ws/sessions/{sid}")
               for sid in ids}
    barrier = threading.Barrier(sessions + 1)
    got: dict[str, list[float]] = {sid: [] for sid in ids}
    failures: list[str] = []

    def reader(sid: str) -> None:
        ws, times = sockets[sid], got[sid]
        barrier.wait()
        ws.send(json.dumps({"type": "send", "content": f"Bench {sid}"}))
        while True:
            raw = ws.receive(120)
            now = time.monotonic()
            if raw is None:
                failures.append(f"{sid}: timed out")
                return
            event = json.loads(raw)
            if event["type"] == "delta":
                times.append(now)
            elif event["type"] in ("done", "error", "stopped"):
                if event["type"] != "done":
                    failures.append(f"{sid}: {event['type']} {event.get('error')}")
                return

    cpu_before = app.call("GET", "/bench/report?reset=1")["cpu_seconds"]
    driver_before = _cpu()
    fake.clear()
    seconds = _race(reader, ids, barrier)
    for ws in sockets.values():
        ws.close()
    if failures:
        raise SystemExit("app run failed: " + "; ".join(failures[:5]))
    report = app.call("GET", "/bench/report?reset=1")
    sent = sent_times(fake)
    latencies, handed, added = [], [], []
    for sid, times in got.items():
        latencies += gaps(sent[sid], times, sid)
        handed += gaps(report["received"][sid], report["writing"][sid], sid)
        added += gaps(report["received"][sid], report["written"][sid], sid)
    return Run("app", sessions, n_tokens, seconds, latencies, handed, added,
               {"max_rss_mb": report["max_rss_kb"] / 1024, "cpu_seconds": report["cpu_seconds"] - cpu_before,
                "driver_cpu": _cpu() - driver_before})


# -- report -------------------------------------------------------------------------------------

def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 and 50 sessions x 200 tokens")
    parser.add_argument("--sessions", type=int, nargs="+", help="concurrency levels (default 50 200)")
    parser.add_argument("--tokens", type=int, help="tokens per stream (default 500)")
    parser.add_argument("--paced", type=float, default=None, metavar="TOKENS_PER_S",
                        help="also run the largest level with streams paced at this rate (default 20; 0: skip)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="passes per level, direct and app alternating; the best of each is kept (default 2)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile every thread of the app into FILE")
    parser.add_argument("--serve-app", nargs=2, metavar=("DATA_DIR", "FAKE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_app:
        serve_app(*args.serve_app)
        return 0
    if args.profile:
        os.environ["BENCH_PROFILE"] = os.path.abspath(args.profile)

    from fake_openai import FakeOpenAI, Reply

    signal.signal(signal.SIGUSR1, dump_stacks)
    levels, n_tokens = ((10, 50), 200) if args.quick else ((50, 200), 500)
    levels = tuple(args.sessions or levels)
    n_tokens = args.tokens or n_tokens
    pace = (0.0 if args.quick else 20.0) if args.paced is None else args.paced
    # (label, sessions, delay between tokens, passes)
    scenarios = [(f"{n}, no delay", n, 0.0, args.repeat) for n in levels]
    if pace:
        scenarios.append((f"{max(levels)}, {pace:g} tokens/s each", max(levels), 1 / pace, 1))
    print(f"# stream benchmark {time.strftime('%Y-%m-%d %H:%M')}: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, "
          f"{n_tokens} tokens per stream, best of {args.repeat} without delay", flush=True)
    results: list[tuple[str, Run, Run]] = []
    with tempfile.TemporaryDirectory(prefix="vice-bench-") as tmp, \
            FakeOpenAI(models=[MODEL], record_timing=True) as fake:
        app = AppProcess(tmp, fake.url)
        try:
            idle = app.call("GET", "/bench/report")
            for label, sessions, delay, passes in scenarios:
                fake.default = Reply(tokens=tokens(n_tokens), delay=delay)
                direct: list[Run] = []
                via_app: list[Run] = []
                for _ in range(passes):
                    direct.append(run_direct(fake, sessions, n_tokens))
                    via_app.append(run_app(fake, app, sessions, n_tokens))
                results.append((label, max(direct, key=lambda r: r.throughput),
                                max(via_app, key=lambda r: r.throughput)))
        finally:
            app.stop()

    print(f"\napp process before the runs: {idle['max_rss_kb'] / 1024:.0f} MB peak RSS\n")
    print("| sessions | path | tokens/s | token latency p50 / p99 ms | app adds p50 / p99 ms "
          "(until its socket write starts; returns) | app peak RSS MB | CPU s: app; driver |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, direct, app_run in results:
        print(f"| {label} | direct | {direct.throughput:,.0f} "
              f"| {ms(pct(direct.latencies, .5))} / {ms(pct(direct.latencies, .99))} | | "
              f"| -; {direct.extra['driver_cpu']:.1f} |")
        print(f"| {label} | app | {app_run.throughput:,.0f} "
              f"| {ms(pct(app_run.latencies, .5))} / {ms(pct(app_run.latencies, .99))} "
              f"| {ms(pct(app_run.handed, .5))} / {ms(pct(app_run.handed, .99))}; "
              f"{ms(pct(app_run.added, .5))} / {ms(pct(app_run.added, .99))} "
              f"| {app_run.extra['max_rss_mb']:.0f} "
              f"| {app_run.extra['cpu_seconds']:.1f}; {app_run.extra['driver_cpu']:.1f} |")
    print()
    verdict = {}
    for label, direct, app_run in results:
        ratio = app_run.throughput / direct.throughput
        added = pct(app_run.handed, .99)
        print(f"{label}: app throughput {ratio:.2f} x direct; the app adds {ms(added)} ms p99 per token "
              f"before writing it; end-to-end token latency p99 {ms(pct(app_run.latencies, .99))} ms "
              f"(direct {ms(pct(direct.latencies, .99))} ms)")
        verdict[label] = (ratio >= 0.5, added < 0.010)
    top = f"{max(levels)}, no delay"
    print(f"\ngoal at {max(levels)} sessions without delay: throughput >= 0.5 x direct "
          f"{'met' if verdict[top][0] else 'missed'}; < 10 ms added p99 per token "
          f"{'met' if verdict[top][1] else 'missed'}")
    return 0 if all(verdict[top]) else 1


if __name__ == "__main__":
    sys.exit(main())
