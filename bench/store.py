"""Benchmark of the store: durable appends against SQLite and raw fsync, first request after a restart.

Run from the repository root:

    .venv/bin/python bench/store.py            # full run (a few minutes at most)
    .venv/bin/python bench/store.py --quick    # fewer appends, same shape

Everything happens in a temporary folder (``--dir`` picks its parent: use a real
disk, a tmpfs makes fsync free and the figures meaningless). Results are
printed as a table and as ratios against baselines measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vice_ai.domain.models import FORMAT_VERSION, ChatSession, Document, Message, Section, new_id  # noqa: E402
from vice_ai.domain.records import snapshot_data  # noqa: E402
from vice_ai.domain.state import AppState  # noqa: E402
from vice_ai.storage.files import dumps  # noqa: E402
from vice_ai.storage.store import Store  # noqa: E402

# A realistic chat turn: ~400 characters of prose.
CONTENT = (
    "The methods section should say how the forty teams are sampled: by size and by sector, "
    "with a short screening call first. Interviews last an hour, are recorded with consent, "
    "and transcripts are coded by two people who compare notes every week. Mention the pilot "
    "with three teams in March, and that the codebook is published with the data. Keep it to "
    "two paragraphs; the budget table covers the transcription costs."
)
SIZES = (10, 1_000, 10_000)


def message(k: int) -> Message:
    return Message(role="assistant" if k % 2 else "user", content=f"{k}: {CONTENT}", model="gpt-4o-mini")


@dataclass
class Timing:
    """Per-operation times in seconds."""

    name: str
    samples: list[float]

    def mean(self) -> float:
        return statistics.fmean(self.samples)

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        ms = 1000
        return (
            f"{self.name:<34} {self.mean() * ms:8.3f} {self.pct(0.5) * ms:8.3f} "
            f"{self.pct(0.99) * ms:8.3f} {max(self.samples) * ms:8.3f}  n={len(self.samples)}"
        )


Op = Callable[[int], object]


def run_interleaved(cases: dict[str, Op], total: int, batch: int = 50) -> dict[str, Timing]:
    """Run every case `total` times in batches, rotating the order of cases between rounds.

    The machine is shared and its disk noisy: interleaving spreads any slow
    spell over all cases instead of penalising whichever ran during it.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    done = 0
    while done < total:
        n = min(batch, total - done)
        for name in names:
            op, out = cases[name], samples[name]
            for k in range(done, done + n):
                t0 = time.perf_counter()
                op(k)
                out.append(time.perf_counter() - t0)
        names = names[1:] + names[:1]
        done += n
    return {name: Timing(name, out) for name, out in samples.items()}


# -- our store ----------------------------------------------------------------------

def seed_session(store: Store, existing: int) -> str:
    """A session already holding `existing` messages (one compacted snapshot, as after normal use)."""
    session = ChatSession(new_id(), new_id(), new_id(), title="Bench")
    for k in range(existing):
        session.upsert_message(message(k))
    store.write_snapshot("sessions", session.id, session.to_dict(), journal_base=existing)
    return session.id


def ours(folder: Path, existing: int) -> tuple[Op, Callable[[int], None]]:
    """Durable append through AppState; and a check that every append is there after a restart."""
    store = Store(folder)
    session_id = seed_session(store, existing)
    state = AppState(store)  # default compaction policy, as the app runs it
    assert state.get_chat_session(session_id) is not None  # loaded once, as a served session is

    def op(k: int) -> None:
        state.append_message(session_id, message(existing + k))

    def check(appends: int) -> None:
        assert len(AppState(Store(folder)).get_chat_session(session_id).messages) == existing + appends

    return op, check


def bench_compaction(folder: Path, existing: int) -> float:
    """One compaction of a session holding `existing` messages (rare: see docs/bench-store.md)."""
    store = Store(folder)
    session_id = seed_session(store, existing)
    state = AppState(store)
    session = state.get_chat_session(session_id)
    assert session is not None
    with state.hold("sessions", session_id):
        t0 = time.perf_counter()
        # What a compaction writes (it now runs in the background: see bench/append.py for the appends).
        store.write_snapshot("sessions", session_id, snapshot_data(session), journal_base=existing)
        return time.perf_counter() - t0


# -- baselines ----------------------------------------------------------------------

def sqlite(folder: Path, existing: int) -> Op:
    """SQLite in WAL mode, synchronous=FULL, one transaction per message."""
    db = sqlite3.connect(folder / f"bench-{existing}.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE messages (session_id TEXT, seq INTEGER, id TEXT, body TEXT, PRIMARY KEY (session_id, seq))")
    session_id = new_id()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO messages VALUES (?, ?, ?, ?)",
        ((session_id, k, m.id, json.dumps(m.to_dict())) for k, m in ((k, message(k)) for k in range(existing))),
    )
    db.execute("COMMIT")

    def insert(k: int) -> None:
        m = message(existing + k)
        db.execute("INSERT INTO messages VALUES (?, ?, ?, ?)", (session_id, existing + k, m.id, json.dumps(m.to_dict())))

    return insert


def raw(folder: Path, sync: Callable[[int], None], name: str) -> Op:
    """The floor: one write of a record-sized line and one sync, on an append-only file."""
    record = dumps({"seq": 1, "op": "message", "message": message(0).to_dict()}) + b"\n"
    fd = os.open(folder / f"raw-{name}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(k: int) -> None:
        os.write(fd, record)
        sync(fd)

    return write


# -- first request after a restart --------------------------------------------------

def seed_many(folder: Path, documents: int, sessions: int, messages_each: int) -> tuple[str, str]:
    """`sessions` session files spread over `documents` documents; returns one (doc_id, session_id)."""
    (folder / "documents").mkdir(parents=True)
    (folder / "sessions").mkdir()
    per_doc = sessions // documents
    chosen = ("", "")
    for d in range(documents):
        doc = Document(id=new_id(), title=f"Document {d}")
        for s in range(10):
            doc.sections.append(Section(id=new_id(), document_id=doc.id, title=f"Section {s}", content=CONTENT))
        for k in range(per_doc):
            section = doc.sections[k % 10]
            session = ChatSession(new_id(), doc.id, section.id, title=f"Chat {k}")
            for m in range(messages_each):
                session.upsert_message(message(m))
            section.session_ids.append(session.id)
            _write_plain(folder / "sessions" / f"{session.id}.json", "sessions", session.to_dict())
            chosen = (doc.id, session.id)
        _write_plain(folder / "documents" / f"{doc.id}.json", "documents", doc.to_dict())
    os.sync()  # setup only: one sync instead of 10,000 fsyncs
    return chosen


def _write_plain(path: Path, kind: str, data: dict) -> None:
    path.write_bytes(dumps({"format_version": FORMAT_VERSION, "kind": kind, "journal_base": 0, "data": data}))


FIRST_REQUEST = """
import json, sys, time
sys.path.insert(0, {root!r})
t_import = time.perf_counter()
from vice_ai import create_app, services
t0 = time.perf_counter()
# Local mode: one implicit user, no sign-in (the store is what is measured).
app = create_app({{"DATA_DIR": {data!r}, "TESTING": True, "AUTH": "local"}})
resp = app.test_client().get({url!r})
t1 = time.perf_counter()
assert resp.status_code == 200, resp.status_code
body = resp.get_json()
services(app).engine.shutdown()
print(json.dumps({{"seconds": t1 - t0, "import": t0 - t_import, "size": len(json.dumps(body))}}))
"""


def first_request(data: Path, url: str) -> dict:
    """create_app() to the first answer, in a fresh process (nothing cached in memory)."""
    code = FIRST_REQUEST.format(root=str(ROOT), data=str(data), url=url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "VICE_AI_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"first request to {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- report -------------------------------------------------------------------------

def filesystem_of(path: Path) -> str:
    """The filesystem type under a path (fsync means nothing on tmpfs)."""
    best, fstype = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _, mount, kind = line.split()[:3]
            if str(path).startswith(mount) and len(mount) > len(best):
                best, fstype = mount, kind
    return fstype


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer appends and repeats (about half a minute)")
    parser.add_argument("--dir", default=None, help="parent folder for the temporary data (default: system temp)")
    args = parser.parse_args()
    appends = 200 if args.quick else 3_000
    repeats = 1 if args.quick else 3

    with tempfile.TemporaryDirectory(prefix="vice-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        print(f"VICE AI store benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpus, "
              f"{platform.system()} {platform.release()}, data on {filesystem_of(work)} ({work})")
        print(f"{appends} appends per case; times in ms\n")
        print(f"{'case':<34} {'mean':>8} {'p50':>8} {'p99':>8} {'max':>8}")

        cases: dict[str, Op] = {}
        checks = []
        for existing in SIZES:
            op, check = ours(work / f"ours-{existing}", existing)
            cases[f"ours, {existing:>6} msgs"] = op
            checks.append(check)
        for existing in SIZES:
            cases[f"sqlite WAL FULL, {existing:>6} msgs"] = sqlite(work, existing)
        for name, sync in (("fsync", os.fsync), ("fdatasync", os.fdatasync)):
            cases[f"raw write + {name}"] = raw(work, sync, name)
        timings = run_interleaved(cases, appends)
        for check in checks:
            check(appends)
        for timing in timings.values():
            print(timing.row())
        results = dict(zip(
            [f"ours{n}" for n in SIZES] + [f"sqlite{n}" for n in SIZES] + ["fsync", "fdatasync"],
            timings.values(), strict=True,
        ))
        compaction = bench_compaction(work / "compaction", 10_000)
        print(f"\none compaction of a 10,000-message session: {compaction * 1000:.1f} ms "
              "(happens once the journal outgrows the snapshot, i.e. every ~10,000 appends at that size)")

        print("\nfirst request after a restart, 10,000 sessions over 100 documents (fresh process each):")
        data = work / "many"
        t0 = time.perf_counter()
        doc_id, session_id = seed_many(data, documents=100, sessions=10_000, messages_each=4)
        print(f"  (seeded in {time.perf_counter() - t0:.1f} s)")
        firsts: dict[str, float] = {}
        for url in (f"/api/sessions/{session_id}", "/api/documents", f"/api/documents/{doc_id}"):
            runs = [first_request(data, url) for _ in range(repeats)]
            firsts[url] = max(r["seconds"] for r in runs)
            print(f"  GET {url:<52} {firsts[url] * 1000:7.1f} ms (worst of {repeats}; "
                  f"imports before create_app {runs[0]['import'] * 1000:.0f} ms)")

        mean = {k: v.mean() for k, v in results.items()}
        p50 = {k: v.pct(0.5) for k, v in results.items()}

        def ratio(label: str, a: str, b: str, goal: float | None = None) -> None:
            by_mean, by_p50 = mean[a] / mean[b], p50[a] / p50[b]
            line = f"  {label:<42} {by_mean:5.2f}  {by_p50:5.2f}"
            if goal is not None:
                line += f"   goal <= {goal:g}: {verdict(by_mean <= goal)}"
            print(line)

        print(f"\nratios{'':<37} mean    p50")
        ratio("ours 10,000-msg / ours 10-msg append", "ours10000", "ours10", goal=2)
        for n in SIZES:
            ratio(f"ours / SQLite, {n:,} msgs", f"ours{n}", f"sqlite{n}", goal=1)
        ratio("ours / raw write+fsync, 10 msgs", "ours10", "fsync")
        ratio("ours / raw write+fdatasync, 10 msgs", "ours10", "fdatasync")
        worst_first = max(firsts.values())
        print(f"  first request (worst)                      {worst_first:5.3f} s      goal < 1 s: "
              f"{verdict(worst_first < 1)}")


if __name__ == "__main__":
    main()
