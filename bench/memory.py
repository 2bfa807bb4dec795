"""Memory of a long-running app process: bounded caches, create/delete churn, a mixed load.

Run from the repository root (the app serves in its own process as `run.py` serves it:
its server class, `settle_heap()` once the app is built, SIGTERM's shutdown; RSS, threads
and open descriptors are read from /proc/<pid>/ of that process):

    .venv/bin/python bench/memory.py                 # all three, about 5 minutes
    .venv/bin/python bench/memory.py --part reads    # or churn, or mixed
    .venv/bin/python bench/memory.py --part mixed --minutes 10

reads: a data folder of `--sessions` chats (4 questions and 4 Markdown replies each) is
read once each (`GET /api/sessions/<id>`), by the app with its configured LRU
(VICE_AI_CACHE_SESSIONS / VICE_AI_CACHE_DOCUMENTS, 200 each by default) and, as the
baseline, by the same app with caches large enough to keep everything. The first
40% of the chats are the warm-up (enough to fill every bounded cache: the LRUs and
the reply HTML cache, VICE_AI_REPLY_CACHE_BYTES); RSS is printed every 1,000 chats. Goal:
RSS at the end within 10% of RSS after the warm-up (the bounded run plateaus; the
baseline keeps growing, which shows what the bound saves).

churn: `--cycles` times: create a document, a chat in it, one message (the offline
assistant answers), delete the document. RSS, threads and open descriptors after a
warm-up of 300 cycles and at the end (the server idle both times), and every 1,000.

mixed: `--workers` clients for `--minutes`: each creates documents, edits sections,
opens a websocket on a chat and sends through it (the offline assistant streams the
reply), reads the document, the list and the chat, deletes chats and documents
(a client keeps at most a few documents). RSS, threads and descriptors are sampled
every 5 s; after the first quarter (the warm-up) and at the end the clients delete
their documents and pause, and the server idles 2 s before a measurement (so both
measure the same working set: none). Goal: the end within 10% of the
warm-up level. `--variants a,b,...` runs the mixed load once per allocator option
(see VARIANTS: glibc's malloc arenas or two, the old reply cache size), one
server after the other, and prints each one's RSS drift after the warm-up.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPLY = ("Here is a tighter version of the **methods** paragraph (take {n}):\n\n"
         "- sample forty teams by size and sector, with a *short* screening call first;\n"
         "- record hour-long interviews with consent, and code them twice;\n"
         "- publish the codebook with the data.\n\n"
         "```python\nteams = sample(population, k=40, strata=['size', 'sector'])\n```\n\n"
         "Keep the budget table for the transcription costs; link the pilot in March.")
QUESTION = "Can you make the methods section shorter and say how the teams are sampled? ({n})"
HUGE = 1_000_000


# -- the server process ---------------------------------------------------------------------------------
def _serve(data: str, port: int, config: str) -> int:
    """The app served as `run.py` serves it: its server, the start-up heap settled, SIGTERM's shutdown.

    Every server of a run (the bounded app and its baseline, each variant) comes through here.
    """
    from vice_ai import create_app, shutdown
    from vice_ai.serving import make_json_server, serve_until_signalled, settle_heap
    app = create_app({"DATA_DIR": data, "AUTH": "local", "LISTEN_HOST": "127.0.0.1", **json.loads(config)})
    server = make_json_server("127.0.0.1", port, app)  # listening from here: only then "ready"
    settle_heap()
    print("ready", flush=True)
    return serve_until_signalled(server, lambda: shutdown(app))


class Server:
    def __init__(self, data: str, **config: Any) -> None:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VICE_AI_", "OPENAI_"))}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", data, str(self.port), json.dumps(config)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == b"ready"
        self._local = threading.local()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"X-Vice-CSRF": "1", "Host": "127.0.0.1"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        assert resp.status < 300, (method, path, resp.status, raw[:300])
        return json.loads(raw) if raw else None

    def close_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def probe(self) -> tuple[float, int, int]:
        """(RSS MiB, threads, open descriptors) of the server process."""
        rss = threads = 0
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        return rss / 1024, threads, len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self) -> None:
        self.close_connection()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _idle_probe(server: Server, seconds: float = 2.0) -> tuple[float, int, int]:
    time.sleep(seconds)  # let finished requests' threads and sockets go
    return server.probe()


# -- reads: 10,000 chats read once each -----------------------------------------------------------------
def _fill(data: str, sessions: int, per_document: int = 100) -> list[str]:
    """Chats written straight as snapshot files (what the app would write, without fsyncs); their ids."""
    from vice_ai.domain.models import ChatSession, Document, Message, Section, new_id
    from vice_ai.domain.records import snapshot_data
    from vice_ai.storage.store import Store
    store = Store(data)
    ids: list[str] = []
    for start in range(0, sessions, per_document):
        doc = Document(id=new_id(), title=f"Document {start // per_document}")
        section = Section(id=new_id(), document_id=doc.id, title="Methods", content="Text.")
        doc.sections.append(section)
        for k in range(start, min(start + per_document, sessions)):
            chat = ChatSession(new_id(), doc.id, section.id, title=f"Chat {k}")
            parent = None
            for i in range(8):
                text = (QUESTION if i % 2 == 0 else REPLY).format(n=f"{k}.{i}")
                message = Message(role="user" if i % 2 == 0 else "assistant", content=text, parent_id=parent)
                chat.upsert_message(message)
                parent = message.id
            section.session_ids.append(chat.id)
            Path(data, "sessions", f"{chat.id}.json").write_bytes(store.snapshot_payload("sessions", snapshot_data(chat)))
            ids.append(chat.id)
        Path(data, "documents", f"{doc.id}.json").write_bytes(store.snapshot_payload("documents", doc.to_dict()))
    return ids


def _build_search_index(data: str) -> None:
    """A first start on a new folder builds the search index from every file: done once, before both runs."""
    server = Server(data)
    try:
        while True:
            try:
                server.request("GET", "/api/search?q=methods")
                return
            except AssertionError:  # 409 busy: still building
                time.sleep(0.5)
    finally:
        server.stop()


def _read_all(data: str, ids: list[str], label: str, **config: Any) -> dict[str, Any]:
    server = Server(data, **config)
    try:
        warm = int(len(ids) * 0.4)
        points, started = [], _idle_probe(server, 1.0)
        for i, session_id in enumerate(ids, start=1):
            server.request("GET", f"/api/sessions/{session_id}")
            if i % 1000 == 0 or i == warm or i == len(ids):
                points.append((i, *server.probe()))
        at_warm = next(p for p in points if p[0] == warm)
        end = points[-1]
        print(f"  {label}: RSS MiB at start {started[0]:.1f}; " +
              ", ".join(f"{i // 1000}k {rss:.1f}" for i, rss, _, _ in points if i % 1000 == 0))
        return {"start": started, "warm": at_warm, "end": end, "points": points}
    finally:
        server.stop()


def part_reads(args: argparse.Namespace, tmp: str) -> None:
    data = os.path.join(tmp, "reads")
    ids = _fill(data, args.sessions)
    _build_search_index(data)
    print(f"reads: {len(ids)} chats of 8 messages, read once each; warm-up = the first {int(len(ids) * 0.4)}")
    bounded = _read_all(data, ids, "bounded (defaults: 200 sessions, 200 documents)")
    huge = _read_all(data, ids, f"baseline (caches of {HUGE:,})", CACHE_SESSIONS=HUGE, CACHE_DOCUMENTS=HUGE)
    print(f"{'':<10} {'start':>8} {'after warm-up':>14} {'end':>8} {'end/warm':>9} {'warm->end MiB':>14}")
    for label, run in (("bounded", bounded), ("baseline", huge)):
        w, e = run["warm"][1], run["end"][1]
        print(f"{label:<10} {run['start'][0]:>8.1f} {w:>14.1f} {e:>8.1f} {e / w:>8.3f}x {e - w:>14.1f}")
    b_growth = bounded["end"][1] - bounded["warm"][1]
    h_growth = huge["end"][1] - huge["warm"][1]
    ok = bounded["end"][1] <= bounded["warm"][1] * 1.10
    print(f"bound saves {huge['end'][1] - bounded['end'][1]:.1f} MiB at the end; growth over the last 60%: "
          f"{b_growth:.1f} MiB bounded vs {h_growth:.1f} MiB baseline; "
          f"goal (end within 10% of warm-up): {'met' if ok else 'NOT met'}")


# -- churn ------------------------------------------------------------------------------------------------
def _cycle(server: Server, k: int) -> None:
    doc = server.request("POST", "/api/documents", {"title": f"Churn {k}", "sections": [{"title": "Intro"}]})
    section = doc["sections"][0]["id"]
    chat = server.request("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions", {})
    server.request("POST", f"/api/sessions/{chat['id']}/messages", {"content": f"Hello {k}"})
    server.request("DELETE", f"/api/documents/{doc['id']}")


def _churn(server: Server, cycles: range, clients: int) -> None:
    """The cycles spread over `clients` threads (the offline assistant's reply takes a while: they overlap)."""
    errors: list[BaseException] = []

    def run(mine: range) -> None:
        try:
            for k in mine:
                _cycle(server, k)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            server.close_connection()
    threads = [threading.Thread(target=run, args=(cycles[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def part_churn(args: argparse.Namespace, tmp: str) -> None:
    data = os.path.join(tmp, "churn")
    server = Server(data, RATE_MESSAGES="1000000/minute")
    try:
        _churn(server, range(300), args.workers)
        before = _idle_probe(server)
        print(f"churn: {args.cycles} cycles of create document + chat + message (offline reply) + delete document, "
              f"{args.workers} clients")
        started, points = time.perf_counter(), []
        for start in range(0, args.cycles, 1000):
            _churn(server, range(start, min(start + 1000, args.cycles)), args.workers)
            points.append(server.probe()[0])
        took = time.perf_counter() - started
        after = _idle_probe(server)
    finally:
        server.stop()
    print(f"  {took / args.cycles * 1e3:.1f} ms a cycle; RSS MiB every 1,000 cycles: "
          + ", ".join(f"{p:.1f}" for p in points))
    _compare("after warm-up (300)", before, f"after {args.cycles}", after)


def _compare(first: str, a: tuple[float, int, int], second: str, b: tuple[float, int, int]) -> bool:
    print(f"  {'':<22} {'RSS MiB':>8} {'threads':>8} {'fds':>6}")
    print(f"  {first:<22} {a[0]:>8.1f} {a[1]:>8} {a[2]:>6}")
    print(f"  {second:<22} {b[0]:>8.1f} {b[1]:>8} {b[2]:>6}")
    ratios = [b[i] / a[i] for i in range(3)]
    ok = all(r <= 1.10 for r in ratios)
    print(f"  ratios end/warm: RSS {ratios[0]:.3f}x, threads {ratios[1]:.3f}x, fds {ratios[2]:.3f}x; "
          f"goal (within 10%): {'met' if ok else 'NOT met'}")
    return ok


# -- mixed load -----------------------------------------------------------------------------------------
class Mixed:
    def __init__(self, server: Server, seed: int) -> None:
        self.server = server
        self.rand = random.Random(seed)
        self.docs: list[dict[str, Any]] = []
        self.ops: dict[str, int] = {}
        self.latency: list[float] = []

    def step(self) -> None:
        r = self.rand.random()
        if not self.docs or (r < 0.1 and len(self.docs) < 4):
            op = "create"
            sections = [{"title": f"Part {i}", "content": "Some text. " * 20} for i in range(3)]
            self.docs.append(self.server.request("POST", "/api/documents", {"title": "Mixed", "sections": sections}))
        elif r < 0.15 or len(self.docs) > 4:
            op = "delete"
            self.server.request("DELETE", f"/api/documents/{self.docs.pop(0)['id']}")
        elif r < 0.40:
            op = "edit"
            doc = self.rand.choice(self.docs)
            i = self.rand.randrange(len(doc["sections"]))
            section = doc["sections"][i]
            doc["sections"][i] = self.server.request("PATCH", f"/api/documents/{doc['id']}/sections/{section['id']}",
                                                     {"version": section["version"],
                                                      "content": f"Edited {self.rand.random()}. " * 30})
        elif r < 0.60:
            op = "chat"
            self._chat(self.rand.choice(self.docs))
        elif r < 0.65:
            op = "delete chat"
            doc = self.rand.choice(self.docs)
            if doc.get("chats"):
                self.server.request("DELETE", f"/api/sessions/{doc['chats'].pop(0)}")
        else:
            op = "read"
            doc = self.rand.choice(self.docs)
            self.server.request("GET", f"/api/documents/{doc['id']}")
            self.server.request("GET", "/api/documents")
            if doc.get("chats"):
                self.server.request("GET", f"/api/sessions/{self.rand.choice(doc['chats'])}")
        self.ops[op] = self.ops.get(op, 0) + 1

    def drain(self) -> None:
        """Delete this client's documents (before a measurement: the same working set, none, each time)."""
        while self.docs:
            self.server.request("DELETE", f"/api/documents/{self.docs.pop()['id']}")

    def _chat(self, doc: dict[str, Any]) -> None:
        import simple_websocket
        chats = doc.setdefault("chats", [])
        if not chats or (len(chats) < 3 and self.rand.random() < 0.3):
            section = self.rand.choice(doc["sections"])["id"]
            chats.append(self.server.request("POST", f"/api/documents/{doc['id']}/sections/{section}/sessions",
                                             {})["id"])
        ws = simple_websocket.Client.connect(f"ws://127.0.0.1:{self.server.port}/ws/sessions/{self.rand.choice(chats)}")
        try:
            started = time.perf_counter()
            ws.send(json.dumps({"type": "send", "content": f"Make it shorter ({self.rand.random()})"}))
            while True:
                event = json.loads(ws.receive(timeout=30) or "{}")
                if event.get("type") in ("done", "error", "stopped"):
                    break
                if not event:
                    raise RuntimeError("no reply within 30 s")
            self.latency.append(time.perf_counter() - started)
        finally:
            ws.close()


# The allocator options compared by `--variants` (each a server of its own, one after the other, same load).
# (A third option, malloc_trim(0) every 10 s, was measured at commit 15b112c and dropped: no clear effect.)
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},  # the app's defaults: 2 malloc arenas, the reply cache at 4 MiB
    "glibc-arenas": {"MALLOC_ARENAS": 0},  # glibc's default arenas (8 per core)
    # The reply cache as big as it was (16 M characters: ~17 MB with the strings' headers), glibc's arenas.
    "old-cache": {"MALLOC_ARENAS": 0, "REPLY_CACHE_BYTES": 17_000_000},
}


def part_mixed(args: argparse.Namespace, tmp: str) -> None:
    results = []
    for name in args.variants.split(","):
        config = VARIANTS[name]
        print(f"mixed, variant {name}: config {config or 'defaults'}")
        results.append((name, _mixed(args, os.path.join(tmp, f"mixed-{name}"), config)))
    if len(results) > 1:
        print(f"  {'variant':<16} {'warm RSS':>9} {'end RSS':>8} {'end/warm':>9} {'MiB/min after warm-up':>22}")
        for name, (warm, end, rate) in results:
            print(f"  {name:<16} {warm[0]:>9.1f} {end[0]:>8.1f} {end[0] / warm[0]:>8.3f}x {rate:>22.2f}")


def _mixed(args: argparse.Namespace, data: str, config: dict[str, Any]) -> tuple[Any, Any, float]:
    server = Server(data, RATE_MESSAGES="1000000/minute", **config)
    clients = [Mixed(server, seed) for seed in range(args.workers)]
    running = threading.Event()
    running.set()
    stop = threading.Event()
    errors: list[BaseException] = []
    waiting = threading.Semaphore(0)

    def work(client: Mixed) -> None:
        try:
            while not stop.is_set():
                if not running.is_set():
                    client.drain()
                    server.close_connection()
                    waiting.release()
                    running.wait()
                    continue
                client.step()
            client.drain()
        except BaseException as exc:  # reported after the run
            errors.append(exc)
            stop.set()
        finally:
            server.close_connection()

    def pause() -> None:
        running.clear()
        for _ in clients:
            waiting.acquire(timeout=60)

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    total = args.minutes * 60
    samples: list[tuple[float, float, int, int]] = []
    try:
        started = time.monotonic()
        for t in threads:
            t.start()
        warm_at, warm = started + total / 4, None
        while time.monotonic() < started + total and not stop.is_set():
            time.sleep(5)
            samples.append((time.monotonic() - started, *server.probe()))
            if warm is None and time.monotonic() >= warm_at:
                pause()
                warm = _idle_probe(server)
                running.set()
        stop.set()
        running.set()
        for t in threads:
            t.join(60)
        end = _idle_probe(server)
    finally:
        server.stop()
    if errors:
        raise errors[0]
    ops: dict[str, int] = {}
    for c in clients:
        for op, n in c.ops.items():
            ops[op] = ops.get(op, 0) + n
    latency = sorted(x for c in clients for x in c.latency)
    print(f"  {args.workers} clients for {args.minutes:g} min; operations: "
          + ", ".join(f"{op} {n}" for op, n in sorted(ops.items())))
    if latency:
        cuts = statistics.quantiles(latency, n=100, method="inclusive")
        print(f"  chat send -> done over a websocket: p50 {statistics.median(latency) * 1e3:.1f} ms, "
              f"p99 {cuts[98] * 1e3:.1f} ms ({len(latency)} replies)")
    during = [s[1] for s in samples]
    print(f"  RSS MiB while loaded (every 5 s): min {min(during):.1f}, median {statistics.median(during):.1f}, "
          f"max {max(during):.1f}; threads max {max(s[2] for s in samples)}, fds max {max(s[3] for s in samples)}")
    print("  RSS MiB by minute: " + ", ".join(f"{s[1]:.1f}" for s in samples if int(s[0]) % 60 < 5))
    assert warm is not None
    _compare("after warm-up", warm, "at the end", end)
    # The loaded RSS's slope after the warm-up (least squares over the 5-s samples): the drift, in MiB a minute.
    late = [(t, rss) for t, rss, _, _ in samples if t > total / 4 + 10]
    rate = statistics.linear_regression([t for t, _ in late], [r for _, r in late]).slope * 60 if len(late) > 2 else 0.0
    print(f"  RSS drift while loaded after the warm-up: {rate:+.2f} MiB/min")
    return warm, end, rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("reads", "churn", "mixed", "all"), default="all")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=5_000)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--variants", default="default", help="mixed: comma-separated, of " + ", ".join(VARIANTS))
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return _serve(args.serve[0], int(args.serve[1]), args.serve[2])
    print(f"bench/memory.py: python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in (("reads", part_reads), ("churn", part_churn), ("mixed", part_mixed)):
            if args.part in (name, "all"):
                part(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
