"""Benchmark: editing one section of a 500-section document against the same edit in a 10-section one.

Run from the repository root:

    .venv/bin/python bench/edit.py            # 300 edits per document, interleaved
    .venv/bin/python bench/edit.py --edits 100

Both documents live in one app (`create_app`, local mode, every listener the
app registers: search index, live document feed) on one data folder, and each
edit is the API's `PATCH /api/documents/<id>/sections/<section_id>` through
Flask's test client: the same process, path and durability (a fsynced journal
append) for both. Edits alternate in batches so a slow spell of the shared
disk hits both. The goal (issue 10): the 500-section edit costs at most 2x the
10-section one (it cost 21x when every edit copied and rewrote the document).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vice_ai import create_app, shutdown  # noqa: E402

PARAGRAPH = ("The methods section says how the forty teams are sampled, by size and by sector, with a short "
             "screening call first; interviews last an hour and are coded by two people. ")


def make_document(client, sections: int) -> tuple[str, list[dict]]:
    body = {"title": f"{sections} sections", "sections": [
        {"title": f"Part {k}", "content": PARAGRAPH * 4} for k in range(sections)]}
    resp = client.post("/api/documents", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    # Give every section some history, as a worked-on document has.
    for section in doc["sections"]:
        for v in range(3):
            edited = client.patch(f"/api/documents/{doc['id']}/sections/{section['id']}",
                                  json={"content": PARAGRAPH * 4 + f" v{v}", "version": section["version"]})
            section["version"] = edited.get_json()["version"]
    return doc["id"], doc["sections"]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--dir", default=None, help="parent of the temporary data folder (use a real disk)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        app = create_app({"DATA_DIR": tmp, "AUTH": "local", "TESTING": True})
        client = app.test_client()
        client.environ_base["HTTP_X_VICE_CSRF"] = "1"
        docs = {n: make_document(client, n) for n in (10, 500)}
        samples: dict[int, list[float]] = {10: [], 500: []}
        done, batch, order = 0, 25, [10, 500]
        while done < args.edits:
            for n in order:
                doc_id, sections = docs[n]
                for k in range(done, done + batch):
                    section = sections[(k * 7) % n]
                    url = f"/api/documents/{doc_id}/sections/{section['id']}"
                    t0 = time.perf_counter()
                    resp = client.patch(url, json={"content": f"{PARAGRAPH} edit {k}", "version": section["version"]})
                    samples[n].append(time.perf_counter() - t0)
                    assert resp.status_code == 200, resp.get_data(as_text=True)
                    section["version"] = resp.get_json()["version"]
            order.reverse()
            done += batch
        shutdown(app)
    print(f"{'document':<14} {'median ms':>10} {'p90 ms':>8} {'p99 ms':>8}  n")
    for n in (10, 500):
        s = samples[n]
        print(f"{n:>4} sections  {statistics.median(s) * 1000:10.3f} {pct(s, .9) * 1000:8.3f} "
              f"{pct(s, .99) * 1000:8.3f}  {len(s)}")
    ratio = statistics.median(samples[500]) / statistics.median(samples[10])
    p99 = pct(samples[500], .99) / pct(samples[10], .99)
    print(f"ratio 500/10: median {ratio:.2f}x, p99 {p99:.2f}x (goal: at most 2x)")


if __name__ == "__main__":
    main()
