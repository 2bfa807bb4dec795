"""Benchmark of scaling on Redis: paced streams held by 1 and 2 app processes, and what Redis adds.

Run from the repository root (needs `redis-server` on PATH):

    .venv/bin/python bench/redis_scale.py             # streams 40..320, 40 tokens each at 20 tokens/s
    .venv/bin/python bench/redis_scale.py --quick     # streams 20..80
    .venv/bin/python bench/redis_scale.py --steps 40,80 --only embedded,redis1 --repeats 5

A model server in its own process writes each token as the time it wrote it
(CLOCK_MONOTONIC, the same clock in every process on Linux), 20 tokens per
second per stream. Each websocket client sends one message to its own chat and
reads the deltas until `done` (every socket read by one thread and selector,
`stream_readers.read_all`); the "added latency" of a token is the time from
the model server writing it to the client reading it (the app's relay, and the
hops through Redis). Configurations, each on its own data folder in one run:

- embedded, 1 process: `run.py` without Redis (the baseline);
- redis, 1 process: `run.py` with `VICE_AI_REDIS_URL`;
- redis, 2 processes: two `run.py` on one folder and one Redis, the clients
  split between them (every event still goes through Redis to both).

All three run side by side (each Redis configuration on a redis-server of its
own: pub/sub reaches every client of a server), and each step runs each
configuration --repeats times, interleaved and in a rotating order, so load
from elsewhere on the machine falls on all of them alike; a step's figures are
the medians of its runs. The streams rise step by step until a configuration's
median added-latency p99 is above the bound (--bound, ms) or a stream fails;
"held" is the largest step within it. The app's CPU per token (all its
processes, from /proc) is printed too: it is what the machine's load skews least.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench"), str(ROOT)]
from stream_readers import Socket, read_all, send_command  # noqa: E402 (after the path)

NUMBER = re.compile(r"\d+\.\d+")


def serve_model(port: int, tokens: int, rate: float) -> None:
    """The paced model server (its own process): each token is the monotonic time it was written."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()

            def chunk(delta: dict, finish: str | None = None) -> None:
                body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "paced",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
                self.wfile.flush()

            start = time.monotonic()
            for k in range(tokens):
                time.sleep(max(0.0, start + k / rate - time.monotonic()))
                chunk({"content": f"{time.monotonic():.6f} "})
            chunk({}, "stop")
            self.wfile.write(b"data: [DONE]\n\n")

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def paced_socket(proc, session_id: str, added: list[float]) -> Socket:
    """One chat's websocket, read by `read_all` (one thread for every socket, as in bench/stream.py: a client
    thread or two per socket would take the CPU the app processes need)."""
    def on_message(ws: Socket, raw: str, now: float) -> bool:
        event = json.loads(raw)
        if event["type"] == "delta":
            added.extend(now - float(t) for t in NUMBER.findall(event["text"]))
        elif event["type"] in ("done", "error", "stopped"):
            if event["type"] != "done":
                ws.failure = event["type"]
            return False
        return True

    return Socket(proc.port, f"/ws/sessions/{session_id}", on_message)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, every core (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def step(procs: list, n: int) -> tuple[float, float, int, float, float]:
    """n paced streams, split between the processes; (p50 ms, p99 ms, failures, app CPU us per token, share of the
    machine's CPU busy meanwhile, every process on it)."""
    sessions = []
    for i in range(n):
        proc = procs[i % len(procs)]
        _, doc = proc.request("POST", "/api/documents", {"title": "b", "sections": [{"title": "s", "content": "x"}]})
        _, session = proc.request("POST", f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions",
                                  {})
        sessions.append((proc, session["id"]))
    added: list[float] = []
    failures: list[str] = []
    sockets = [paced_socket(proc, sid, added) for proc, sid in sessions]
    cpu, machine = sum(cpu_seconds(proc.proc.pid) for proc in procs), machine_ticks()
    for ws in sockets:
        send_command(ws, {"type": "send", "content": "Go."})
    try:
        read_all(sockets, timeout=30)
    except TimeoutError as exc:  # a stream that did not finish is a failure of the step
        failures.append(repr(exc))
    failures += [ws.failure for ws in sockets if ws.failure]
    cpu = sum(cpu_seconds(proc.proc.pid) for proc in procs) - cpu
    busy, total = (b - a for a, b in zip(machine, machine_ticks(), strict=True))
    added.sort()
    if not added:
        return float("inf"), float("inf"), len(failures) or n, float("inf"), busy / max(total, 1)
    return (added[len(added) // 2] * 1000, added[min(len(added) - 1, int(len(added) * 0.99))] * 1000,
            len(failures), cpu * 1e6 / len(added), busy / max(total, 1))


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def start_config(count: int, redis_url: str | None, model_url: str, folder: str) -> list:
    from app_process import AppProcess

    env = {"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "bench", "VICE_AI_MODEL": "paced",
           "VICE_AI_MODELS": "paced", **({"VICE_AI_REDIS_URL": redis_url} if redis_url else {})}
    data = os.path.join(folder, "data")
    os.mkdir(data)
    return [AppProcess(data, env=env) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--bound", type=float, default=100.0, help="added-latency p99 bound, ms")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each step per configuration (median)")
    parser.add_argument("--steps", help="comma-separated stream counts (instead of the default steps)")
    parser.add_argument("--only", help="comma-separated configurations to run: embedded, redis1, redis2")
    args = parser.parse_args(argv)
    steps = [20, 40, 60, 80] if args.quick else [40, 80, 120, 160, 200, 240, 280, 320]
    if args.steps:
        steps = [int(n) for n in args.steps.split(",")]
    wanted = set(args.only.split(",")) if args.only else {"embedded", "redis1", "redis2"}

    from app_process import free_port
    from redis_server import RedisServer

    port = free_port()
    model = subprocess.Popen([sys.executable, __file__, "--serve-model", str(port), str(args.tokens),
                              str(args.rate)])
    folder = tempfile.mkdtemp(prefix="vice-scale-")
    # One Redis per configuration: pub/sub reaches every client of a server, whatever its db.
    redis = {name: RedisServer(tempfile.mkdtemp(prefix="vice-scale-redis-")) for name in ("redis1", "redis2")}
    print(f"load average {os.getloadavg()}; {args.tokens} tokens per stream at {args.rate}/s; "
          f"bound p99 {args.bound} ms; median of {args.repeats} runs per step, configurations interleaved",
          flush=True)
    configs: dict[str, list] = {}
    figures: dict[str, dict[int, tuple[float, float, int, float]]] = {}
    held: dict[str, int] = {}
    try:
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/v1"
        for name, count in (("embedded", 1), ("redis1", 1), ("redis2", 2)):
            if name in wanted:
                configs[name] = start_config(count, redis[name].url if name in redis else None, url,
                                             tempfile.mkdtemp(dir=folder))
                figures[name], held[name] = {}, 0
        active = list(configs)
        for n in steps:
            if not active:
                break
            runs: dict[str, list[tuple[float, float, int, float, float]]] = {name: [] for name in active}
            for repeat in range(args.repeats):
                order = active[repeat % len(active):] + active[:repeat % len(active)]  # who goes first rotates
                for name in order:
                    runs[name].append(step(configs[name], n))
            for name in list(active):
                p50, p99 = median([r[0] for r in runs[name]]), median([r[1] for r in runs[name]])
                failed, cpu = sum(r[2] for r in runs[name]), median([r[3] for r in runs[name]])
                figures[name][n] = (p50, p99, failed, cpu)
                print(f"  {name:<9} {n:>4} streams: added p50 {p50:7.1f} ms  p99 {p99:7.1f} ms (runs: "
                      f"{', '.join(f'{r[1]:.0f}' for r in runs[name])})  app CPU {cpu:4.0f} us/token  "
                      f"machine busy {median([r[4] for r in runs[name]]):.0%}  failed {failed}", flush=True)
                if failed or p99 > args.bound:
                    active.remove(name)
                else:
                    held[name] = n
    finally:
        for procs in configs.values():
            for proc in procs:
                proc.stop()
        for server in redis.values():
            server.stop()
        model.terminate()
        model.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"held within p99 {args.bound} ms: {held}  (load average now {os.getloadavg()})")
    if "redis1" in held and "redis2" in held:
        one, two = held["redis1"], held["redis2"]
        print(f"2 procs / 1 proc (redis): {two / one if one else float('nan'):.2f}x (goal >= 1.6x)")
    if "embedded" in figures and "redis1" in figures:
        for n in [n for n in figures["embedded"] if n in figures["redis1"]]:
            embedded, redis_p99 = figures["embedded"][n][1], figures["redis1"][n][1]
            print(f"  {n} streams: added p99 redis {redis_p99:.1f} ms / embedded {embedded:.1f} ms = "
                  f"{redis_p99 / embedded:.2f}x (goal <= 2x)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-model":
        serve_model(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(main())
