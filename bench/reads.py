"""Benchmark of the read paths against a minimal Flask app serving the same bytes on the same server.

Run from the repository root:

    .venv/bin/python bench/reads.py            # about a minute
    .venv/bin/python bench/reads.py --quick    # fewer requests, same shape

A data folder is filled once (documents, a 20-message chat, a 10,000-message
chat; replies are Markdown with a list and code, so rendering counts). Then two
processes serve it: the app (`run.py`'s server: werkzeug, threaded, JSON errors)
and a baseline, a minimal Flask app in its own process on the same server class
that answers each path with the bytes the app answered it with (captured first).
One client (http.client, a keep-alive connection to each) alternates between the
two in rounds after a warm-up. Each figure is the median over the rounds, never
the best round: `x` is how many of the app's requests fit in the baseline's
time (baseline time / app time; 1.0x = as fast), for the median and the p95/p99
request. The 10,000-message chat's default page is compared with the 20-message
chat's on the app itself.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPLY = ("Here is a tighter version of the **methods** paragraph:\n\n"
         "- sample forty teams by size and sector, with a *short* screening call first;\n"
         "- record hour-long interviews with consent, and code them twice;\n"
         "- publish the codebook with the data.\n\n"
         "```python\nteams = sample(population, k=40, strata=['size', 'sector'])\n```\n\n"
         "Keep the budget table for the transcription costs; link the pilot in March.")
QUESTION = "Can you make the methods section shorter and say how the teams are sampled?"


def _serve(kind: str, data: str, port: int) -> None:
    """In a child process: serve the app on `data`, or the baseline answering with the bytes in file `data`."""
    from flask import Flask, Response

    from vice_ai.serving import make_json_server
    if kind == "app":
        from vice_ai import create_app
        app = create_app({"DATA_DIR": data, "AUTH": "local", "LISTEN_HOST": "127.0.0.1"})
    else:
        answers = {path: body.encode() for path, body in json.loads(Path(data).read_text()).items()}
        app = Flask("baseline")

        @app.get("/<path:path>")
        def answer(path: str) -> Response:
            from flask import request
            return Response(answers[request.full_path.rstrip("?")], mimetype="application/json")
    print("ready", flush=True)
    make_json_server("127.0.0.1", port, app).serve_forever()


def _fill(data: str, documents: int) -> dict[str, str]:
    """The data folder: `documents` documents, a 20- and a 10,000-message chat; returns the paths to read."""
    from vice_ai import create_app, shutdown
    from vice_ai.domain.models import Message
    from vice_ai.domain.records import snapshot_data
    from vice_ai.services import services
    app = create_app({"DATA_DIR": data, "AUTH": "local", "TESTING": True})
    client = app.test_client()
    headers = {"X-Vice-CSRF": "1"}
    sections = [{"title": f"Part {i}", "content": f"Text of part {i}.\n\n" + REPLY} for i in range(10)]
    ids = [client.post("/api/documents", json={"title": f"Document {i}", "sections": sections},
                       headers=headers).get_json()["id"] for i in range(documents)]
    doc = client.get(f"/api/documents/{ids[0]}").get_json()
    paths = {"document": f"/api/documents/{ids[0]}", "documents": "/api/documents"}
    state = services(app).state
    for name, count in (("chat20", 20), ("chat10k", 10_000)):
        session = client.post(f"/api/documents/{ids[0]}/sections/{doc['sections'][0]['id']}/sessions", json={},
                              headers=headers).get_json()
        live = state.get_chat_session(session["id"])
        parent = None
        for i in range(count):
            message = Message(role="user" if i % 2 == 0 else "assistant", content=f"{i}. " +
                              (QUESTION if i % 2 == 0 else REPLY), parent_id=parent, model="gpt-4o-mini")
            live.upsert_message(message)
            parent = message.id
        state.store.write_snapshot("sessions", session["id"], snapshot_data(live))
        state.store.reset_journal("sessions", session["id"])
        paths[name] = f"/api/sessions/{session['id']}"
    shutdown(app)
    return paths


def _start(kind: str, data: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, data, str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "VICE_AI_DATA_DIR": data})
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    return proc


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers={"Host": "127.0.0.1"})
        resp = self.conn.getresponse()
        body = resp.read()
        took = time.perf_counter() - start
        assert resp.status == 200, (path, resp.status, body[:200])
        return took, body


def _quantiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94], cuts[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return 0
    rounds, per_round = (3, 100) if args.quick else (5, 300)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        paths = _fill(data, args.documents)
        app_port, base_port = _free_port(), _free_port()
        app = _start("app", data, app_port)
        try:
            app_client = Client(app_port)
            bodies = {name: app_client.get(path)[1] for name, path in paths.items()}
            answers = os.path.join(tmp, "answers.json")
            Path(answers).write_text(json.dumps({paths[n]: b.decode() for n, b in bodies.items()}))
            base = _start("baseline", answers, base_port)
            try:
                base_client = Client(base_port)
                results = _measure(paths, app_client, base_client, rounds, per_round)
            finally:
                base.terminate()
                base.wait(10)
        finally:
            app.terminate()
            app.wait(10)
    _report(results, bodies, args)
    return 0


def _measure(paths: dict[str, str], app: Client, base: Client, rounds: int, per_round: int) -> dict:
    for client in (app, base):  # warm: imports, caches, first renders
        for path in paths.values():
            for _ in range(30):
                client.get(path)
    out: dict[str, dict[str, list]] = {name: {"app": [], "base": []} for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            for who, client in (("base", base), ("app", app)):
                samples = [client.get(path)[0] for _ in range(per_round)]
                out[name][who].append(_quantiles(samples))
    return out


def _report(results: dict, bodies: dict[str, bytes], args: argparse.Namespace) -> None:
    def med(name: str, who: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name][who])

    print(f"bench/reads.py{' --quick' if args.quick else ''}: {args.documents} documents of 10 sections, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'GET':<38} {'bytes':>8} {'app ms (p50/p99)':>18} {'base ms':>9} {'x p50':>6} {'x p95':>6} {'x p99':>6}")
    labels = {"chat20": "/api/sessions/<id> (20 messages)", "documents": "/api/documents",
              "document": "/api/documents/<id>", "chat10k": "/api/sessions/<id> (10,000 messages)"}
    for name, label in labels.items():
        ratios = [med(name, "base", i) / med(name, "app", i) for i in range(3)]
        print(f"{label:<38} {len(bodies[name]):>8} {med(name, 'app', 0) * 1e3:>8.2f} / {med(name, 'app', 2) * 1e3:<7.2f} "
              f"{med(name, 'base', 0) * 1e3:>9.2f} {ratios[0]:>5.2f}x {ratios[1]:>5.2f}x {ratios[2]:>5.2f}x")
    long_vs_short = [med("chat10k", "app", i) / med("chat20", "app", i) for i in range(3)]
    print(f"10,000-message chat's default page vs the 20-message chat: {long_vs_short[0]:.2f}x at the median, "
          f"{long_vs_short[1]:.2f}x p95, {long_vs_short[2]:.2f}x p99; {len(bodies['chat10k']) / 1024:.1f} KB")


if __name__ == "__main__":
    sys.exit(main())
