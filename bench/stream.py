"""Benchmark of streaming: the app relaying model tokens to websockets, against reading them directly.

Run from the repository root:

    .venv/bin/python bench/stream.py                 # 200 sessions x 500 tokens, 3 repeats; then 200 paced
    .venv/bin/python bench/stream.py --quick         # 50 sessions x 200 tokens, 2 repeats; 50 paced for 10 s
    .venv/bin/python bench/stream.py --profile FILE  # cProfile (CPU time) of every app thread into FILE
    .venv/bin/python bench/stream.py --ws-threads    # the readers as before (a thread or two per stream)
    .venv/bin/python bench/stream.py --only unpaced --floor   # also the least relay (bench/chat_floor.py)

Three processes besides this driver, so nobody shares a GIL: the model server
(bench/fake_model.py), the app (run as `run.py` does: werkzeug's threaded
server) and the readers (bench/stream_readers.py). The driver only starts them
and reads reports, and prints each process's CPU time per token.

- **direct (raw)**: N threads in their own process read N streams from the model
  server exactly as the app does: the app's own backend sends each request
  through the openai client, its reactor thread reads every body and its SSE
  decoder decodes them (vice_ai/llm/reactor.py, sse.py). This is the fair baseline.
- **direct (threads)**: a thread each reading the openai client's raw streaming
  response through the app's decoder (how the app read before the reactor).
- **direct (typed)**: a thread each through the openai client's typed chunks.
- **app**: N websockets (in the readers' process, all read by one selector
  thread) each send one message to their own chat and read `delta` events
  until `done`.

Unpaced ("no delay": the model server writes as fast as it can), each pass runs
raw, threads, typed and app one after the other; the ratio app/raw is taken per pass and
the median and range over --repeat passes are reported.

Paced (--paced tokens/s per stream): each app session's model request and one
direct reader's request are the SAME stream (the model server waits for both,
then writes token k to both at one scheduled instant), and both run at once;
the direct readers, the latency reference, are read by the same selector thread
as the websockets (through the app's SSE decoder).
Delivered = tokens the app's sockets got per second / tokens the direct readers
got; added latency per token = (websocket client has it - server wrote it to the
app) - (direct reader has it - server wrote it to the reader).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stream_readers import KEY, MODEL  # noqa: E402 - bench/ is on the path when run as a script


def call(url: str, method: str = "GET", body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", "X-VICE-CSRF": "1"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


# -- the app, in its own process -----------------------------------------------------------------

def serve_app(data_dir: str, fake_url: str) -> None:
    """Child process: the app in a threaded werkzeug server, plus a /bench/report route (CPU, RSS, profile)."""
    import logging
    import resource

    from flask import jsonify
    from werkzeug.serving import make_server

    from vice_ai import create_app

    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # try another GIL hand-off interval in the app process
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    profiles: list[Any] = []
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        original_run = threading.Thread.run

        def profiled_run(self: threading.Thread) -> None:
            # CPU time: a thread waiting costs nothing. A thread still running at the report shows
            # nonsense for the calls it is in (closed with the reporting thread's clock).
            prof = cProfile.Profile(time.thread_time)
            profiles.append(prof)
            prof.runcall(original_run, self)

        threading.Thread.run = profiled_run  # type: ignore[method-assign]

    app = create_app({
        "DATA_DIR": data_dir, "OPENAI_BASE_URL": fake_url, "OPENAI_API_KEY": KEY, "MODEL": MODEL,
        "MODELS": [MODEL], "AUTH": "local", "RATE_MESSAGES": "1000000/minute", "WS_PING_INTERVAL": 60,
    })
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    gc_pauses: list[float] = []
    if os.environ.get("BENCH_GC_LOG"):
        import gc

        started: list[float] = []

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                started[:] = [time.perf_counter()]
            elif started and info.get("generation") == 2:
                gc_pauses.append(time.perf_counter() - started[0])

        gc.callbacks.append(on_gc)
    if os.environ.get("BENCH_GC_FREEZE") != "0":  # as run.py does (BENCH_GC_FREEZE=0: as before)
        from vice_ai.serving import settle_heap

        settle_heap()

    @app.get("/bench/report")
    def report():  # type: ignore[no-untyped-def]
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
        return jsonify({"max_rss_kb": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                        "sys_seconds": usage.ru_stime, "switches": usage.ru_nvcsw + usage.ru_nivcsw,
                        "threads": threading.active_count(), "gc2": [len(gc_pauses), sum(gc_pauses),
                                                                     max(gc_pauses, default=0)]})

    @app.get("/bench/threads")
    def thread_cpu():  # type: ignore[no-untyped-def]
        """CPU seconds (user, system) of the live threads so far, by name with digits dropped (Linux)."""
        tick = os.sysconf("SC_CLK_TCK")
        groups: dict[str, list[float]] = {}
        for thread in threading.enumerate():
            try:
                with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = re.sub(r"[-_]?[0-9a-f]{6,}|\d+", "", thread.name)
            group = groups.setdefault(name, [0, 0.0, 0.0])
            group[0] += 1
            group[1] += int(fields[11]) / tick
            group[2] += int(fields[12]) / tick
        return jsonify(groups)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(1024)  # hundreds of sockets connect at once
    print(server.server_port, flush=True)
    server.serve_forever()


def readers(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "stream_readers.py")], input=json.dumps(spec), text=True,
                          capture_output=True, check=False)
    if proc.returncode:
        raise SystemExit(f"readers failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)
    if result["failures"]:
        raise SystemExit("readers failed: " + "; ".join(result["failures"][:5]))
    return result


# -- the run ------------------------------------------------------------------------------------

# Set by main (--app-cpu): the CPUs of the app's process; None: every process may run anywhere.
APP_CPUS: set[int] | None = None


class Child:
    def __init__(self, *args: str, cpus: set[int] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True,
                                     preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def make_sessions(app: Child, count: int) -> list[str]:
    """One document and one chat per session, as for separate users."""
    ids = []
    for n in range(count):
        doc = call(app.url + "/api/documents", "POST", {"title": f"Bench {n}", "sections": [
            {"title": "Summary", "content": "We ask for funding. The budget is 40,000 euros."}]})
        ids.append(call(f"{app.url}/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions",
                        "POST", {})["id"])
    return ids


# Set by main: the websocket readers as one thread per socket (simple_websocket), as before 2026-12.
WS_THREADS = False


def cpu_now(fake: Child, app: Child) -> tuple[float, dict[str, Any]]:
    """CPU seconds used so far by the model server, and the app's report (CPU, context switches, GC)."""
    return call(fake.url + "/bench/cpu")["cpu_seconds"], call(app.url + "/bench/report")


def run_pass(fake: Child, app: Child, spec: dict[str, Any], usage: dict[str, list[float]]) -> dict[str, Any]:
    """One run of the readers; the CPU seconds each process used in it are added to `usage`."""
    model0, r0 = cpu_now(fake, app)
    result = readers({**spec, "fake_url": fake.url + "/v1", "app_port": app.port, "ws_threads": WS_THREADS})
    model1, r1 = cpu_now(fake, app)
    app0, app1 = r0["cpu_seconds"], r1["cpu_seconds"]
    print(f"  app: sys {r1['sys_seconds'] - r0['sys_seconds']:.2f} s of {app1 - app0:.2f} s CPU, "
          f"{r1['switches'] - r0['switches']} context switches; full GCs so far (count, s, max s) {r1['gc2']}",
          file=sys.stderr, flush=True)
    for name, value in (("model", model1 - model0), ("readers", result["cpu_seconds"]), ("app", app1 - app0)):
        usage.setdefault(name, []).append(value)
    return result


def print_cpu(title: str, usage: dict[str, list[float]], tokens: int) -> None:
    print(f"- CPU per token, {title}: " + ", ".join(
        f"{name} {statistics.median(values) / tokens * 1e6:.0f} us" for name, values in usage.items()))


def unpaced(fake: Child, app: Child, sessions: int, n_tokens: int, repeat: int, floor: Child | None) -> None:
    call(fake.url + "/bench/config", "POST", {"tokens": n_tokens, "delay": 0, "pair": False})
    modes = ("raw", "threads", "typed", "app") + (("floor",) if floor else ())
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    usage: dict[str, dict[str, list[float]]] = {mode: {} for mode in modes}
    for k in range(repeat):
        for mode in modes:
            tags = make_sessions(app, sessions) if mode == "app" else [f"{mode}{k}-{i}" for i in range(sessions)]
            # The least relay: the same readers as the app's, on its sockets.
            server = floor if mode == "floor" and floor else app
            result = run_pass(fake, server, {"mode": "app" if mode == "floor" else mode, "tags": tags}, usage[mode])
            delivered = sum(len(t) for t in result["got"].values())
            if delivered != sessions * n_tokens:
                raise SystemExit(f"{mode}: {delivered} tokens of {sessions * n_tokens}")
            rates[mode].append(delivered / result["seconds"])
    ratio = [a / r for a, r in zip(rates["app"], rates["raw"], strict=True)]
    typed = [a / t for a, t in zip(rates["app"], rates["typed"], strict=True)]
    threads = [a / t for a, t in zip(rates["app"], rates["threads"], strict=True)]
    print(f"\n## {sessions} sessions x {n_tokens} tokens, no delay ({repeat} passes)\n")
    print("| path | tokens/s median (min-max) |\n|---|---:|")
    for mode, label in (("raw", "direct, the app's reader (reactor + app decoder)"),
                        ("threads", "direct, a thread each (raw SSE + app decoder)"),
                        ("typed", "direct, openai typed chunks"), ("app", "app, websockets"),
                        ("floor", "the least relay on flask-sock (bench/chat_floor.py)")):
        if mode not in rates:
            continue
        print(f"| {label} | {statistics.median(rates[mode]):,.0f} ({min(rates[mode]):,.0f}-{max(rates[mode]):,.0f}) |")
    print(f"\napp / fair direct (raw): **{statistics.median(ratio):.2f}x** ({min(ratio):.2f}-{max(ratio):.2f}); "
          f"app / thread-each direct: {statistics.median(threads):.2f}x ({min(threads):.2f}-{max(threads):.2f}); "
          f"app / typed direct: {statistics.median(typed):.2f}x ({min(typed):.2f}-{max(typed):.2f}); "
          f"goal >= 0.8x fair: {'met' if statistics.median(ratio) >= 0.8 else 'missed'}\n")
    if floor:
        least = [f / r for f, r in zip(rates["floor"], rates["raw"], strict=True)]
        print(f"the least relay / fair direct (raw): **{statistics.median(least):.2f}x** "
              f"({min(least):.2f}-{max(least):.2f})\n")
    for mode in ("raw", "app", "floor")[:3 if floor else 2]:
        print_cpu(f"{mode} passes", usage[mode], sessions * n_tokens)


def paced(fake: Child, app: Child, sessions: int, n_tokens: int, rate: float, repeat: int) -> None:
    call(fake.url + "/bench/config", "POST", {"tokens": n_tokens, "delay": 1 / rate, "pair": True})
    shares, added_p50, added_p99, added_max = [], [], [], []
    usage: dict[str, list[float]] = {}
    for _ in range(repeat):
        tags = make_sessions(app, sessions)
        call(fake.url + "/bench/report?reset=1")
        result = run_pass(fake, app, {"mode": "paired", "tags": tags}, usage)
        sent = call(fake.url + "/bench/report?reset=1")
        got = result["got"]
        app_tokens = sum(len(got[f"app:{t}"]) for t in tags)
        direct_tokens = sum(len(got[f"direct:{t}"]) for t in tags)
        if app_tokens != direct_tokens:
            raise SystemExit(f"app delivered {app_tokens} tokens, direct {direct_tokens}")
        # Throughput over the run: the same tokens, so the ratio of the times until the last one arrived.
        last_app = max(max(got[f"app:{t}"]) for t in tags)
        last_direct = max(max(got[f"direct:{t}"]) for t in tags)
        shares.append((last_direct - result["start"]) / (last_app - result["start"]))
        per_token = [(k, (a - sa) - (d - sd)) for t in tags for k, (a, sa, d, sd) in enumerate(zip(
            got[f"app:{t}"], sent[f"app:{t}"], got[f"direct:{t}"], sent[f"direct:{t}"], strict=True))]
        added = [x for _, x in per_token]
        for low, high in ((0, 20), (20, n_tokens // 2), (n_tokens // 2, n_tokens)):
            part = [x for k, x in per_token if low <= k < high]
            print(f"  tokens {low}-{high - 1}: added p50 {pct(part, .5) * 1000:.1f} ms, p99 {pct(part, .99) * 1000:.1f} ms",
                  flush=True)
        # Every message is sent in the same second: how long until each chat's first token reached its tab.
        first = [min(got[f"app:{t}"]) - result["start"] for t in tags]
        print(f"  first token after the burst of sends: p50 {pct(first, .5):.2f} s, p99 {pct(first, .99):.2f} s, "
              f"max {max(first):.2f} s", flush=True)
        added_p50.append(pct(added, .5))
        added_p99.append(pct(added, .99))
        added_max.append(max(added))
    m = statistics.median
    print(f"\n## {sessions} sessions at {rate:g} tokens/s each, {n_tokens} tokens ({repeat} passes)\n")
    print(f"- app throughput: **{m(shares):.1%}** of direct "
          f"({min(shares):.1%}-{max(shares):.1%})")
    print(f"- added latency per token: p50 {m(added_p50) * 1000:.1f} ms, **p99 {m(added_p99) * 1000:.1f} ms** "
          f"({min(added_p99) * 1000:.1f}-{max(added_p99) * 1000:.1f}), max {m(added_max) * 1000:.1f} ms")
    print_cpu("both readers of each token together (model and readers: twice the tokens)", usage,
              sessions * n_tokens)
    ok = m(shares) >= 0.99 and m(added_p99) < 0.050
    print(f"- goal (>= 99% delivered, added p99 < 50 ms): {'met' if ok else 'missed'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 sessions x 200 tokens, 2 passes")
    parser.add_argument("--sessions", type=int, help="concurrent sessions (default 200)")
    parser.add_argument("--tokens", type=int, help="tokens per stream without delay (default 500)")
    parser.add_argument("--repeat", type=int, help="passes (default 3; paced: 2)")
    parser.add_argument("--paced", type=float, default=20.0, metavar="TOKENS_PER_S", help="0: skip (default 20)")
    parser.add_argument("--paced-tokens", type=int, default=300, help="tokens per paced stream (default 300: 15 s)")
    parser.add_argument("--only", choices=("unpaced", "paced"), help="run one of the two")
    parser.add_argument("--ws-threads", action="store_true",
                        help="the readers as before: a simple_websocket client and thread per websocket, "
                             "paced direct readers a thread each")
    parser.add_argument("--app-cpu", type=int, metavar="N",
                        help="paced only: the app on CPU N alone, the model server and readers on the others "
                             "(as on a machine where the app has a core of its own)")
    parser.add_argument("--floor", action="store_true",
                        help="unpaced: also the least relay on flask-sock (bench/chat_floor.py), in its own process")
    parser.add_argument("--profile", metavar="FILE", help="cProfile every thread of the app into FILE")
    parser.add_argument("--serve-app", nargs=2, metavar=("DATA_DIR", "FAKE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_app:
        serve_app(*args.serve_app)
        return 0
    global WS_THREADS, APP_CPUS
    WS_THREADS = args.ws_threads
    if args.app_cpu is not None:
        if args.only != "paced":
            parser.error("--app-cpu needs --only paced (unpaced, the direct readers would lose the app's core)")
        APP_CPUS = {args.app_cpu}
        os.sched_setaffinity(0, (os.sched_getaffinity(0) - APP_CPUS) or APP_CPUS)  # the bench and its children
    if args.profile:
        os.environ["BENCH_PROFILE"] = os.path.abspath(args.profile)
    sessions = args.sessions or (50 if args.quick else 200)
    n_tokens = args.tokens or (200 if args.quick else 500)
    repeat = args.repeat or (2 if args.quick else 3)
    paced_tokens = 200 if args.quick else args.paced_tokens
    print(f"# stream benchmark {time.strftime('%Y-%m-%d %H:%M')}: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
          + (f"; the app alone on CPU {args.app_cpu}" if APP_CPUS else ""), flush=True)
    fake = Child(str(ROOT / "bench" / "fake_model.py"))
    with tempfile.TemporaryDirectory(prefix="vice-bench-") as tmp:
        app = Child(__file__, "--serve-app", tmp, fake.url + "/v1", cpus=APP_CPUS)
        floor = None
        if args.floor:
            os.mkdir(os.path.join(tmp, "floor"))
            floor = Child(str(ROOT / "bench" / "chat_floor.py"), "--serve-bare", os.path.join(tmp, "floor"),
                          fake.url + "/v1")
        try:
            idle = call(app.url + "/bench/report")
            if args.only != "paced":
                unpaced(fake, app, sessions, n_tokens, repeat, floor)
            if args.paced and args.only != "unpaced":
                paced(fake, app, sessions, paced_tokens, args.paced, max(1, repeat - 1))
            end = call(app.url + "/bench/report")
            print(f"\napp process: {idle['max_rss_kb'] / 1024:.0f} MB RSS idle, {end['max_rss_kb'] / 1024:.0f} MB "
                  f"peak; load average {os.getloadavg()[0]:.1f} at the end")
        finally:
            for child in (app, floor, fake):
                if child:
                    child.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
