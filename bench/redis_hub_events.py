"""Benchmark of the hub alone: what an event costs from `publish` to a socket's queue, embedded vs Redis.

Run from the repository root (needs `redis-server` on PATH):

    .venv/bin/python bench/redis_hub_events.py                 # 80 paced channels, 5 runs each
    .venv/bin/python bench/redis_hub_events.py --channels 40 --repeats 3

Each configuration runs in a process of its own (`--one embedded|redis`), so
neither shares a GIL with the other: N channels, each with one subscriber
drained by its own thread (as a socket's writer would, taking the JSON text),
and one publishing thread per channel at 20 events/s (a paced reply). An
event's latency is from `publish` to its subscriber's thread taking it; CPU is
the process's per event. Both configurations alternate, --repeats times each;
the figures are medians over the runs. The machine's other load skews the
tails most: the load is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def one(kind: str, channels: int, events: int, redis_url: str | None) -> dict[str, float]:
    from vice_ai.live.hub import Hub
    from vice_ai.live.subscriber import QueueSubscriber, encode

    if kind == "redis":
        from vice_ai.live.redis_hub import RedisHub
        hub: Hub = RedisHub(str(redis_url))
        hub.bus.wait_connected(5)  # type: ignore[attr-defined]
    else:
        hub = Hub()
    subs = [QueueSubscriber() for _ in range(channels)]
    for i, sub in enumerate(subs):
        hub.subscribe(f"c{i}", "d", sub)
    latencies: list[float] = []

    def drain(sub: QueueSubscriber) -> None:
        seen = 0
        while seen < events:
            for event in sub.queue.take(256, 5):
                assert event is not None
                latencies.append(time.monotonic() - float(event["text"]))
                encode(event)
                seen += 1

    def publish(i: int) -> None:
        time.sleep(i * 0.05 / channels)
        start = time.monotonic()
        for k in range(events):
            time.sleep(max(0.0, start + k * 0.05 - time.monotonic()))
            hub.publish(f"c{i}", "d", {"type": "delta", "message_id": "m", "text": f"{time.monotonic():.6f}"})

    threads = [threading.Thread(target=drain, args=(sub,)) for sub in subs]
    threads += [threading.Thread(target=publish, args=(i,)) for i in range(channels)]
    cpu = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu
    hub.close_all({"type": "restarting"}, 0.1)
    latencies.sort()
    return {"p50": latencies[len(latencies) // 2] * 1000, "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "cpu": cpu * 1e6 / len(latencies)}


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=80)
    parser.add_argument("--events", type=int, default=40, help="events per channel (at 20/s)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from redis_server import RedisServer

    redis = RedisServer(tempfile.mkdtemp(prefix="vice-hub-bench-"))
    print(f"load average {os.getloadavg()}; {args.channels} channels x {args.events} events at 20/s; "
          f"{args.repeats} runs each, alternating", flush=True)
    runs: dict[str, list[dict[str, float]]] = {"embedded": [], "redis": []}
    try:
        for _ in range(args.repeats):
            for kind in runs:
                redis.flush()
                out = subprocess.run([sys.executable, __file__, "--one", kind, str(args.channels), str(args.events),
                                      redis.url], capture_output=True, text=True, check=True)
                runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        redis.stop()
    result = {kind: {k: median([r[k] for r in found]) for k in ("p50", "p99", "cpu")} for kind, found in runs.items()}
    for kind, figures in result.items():
        each = ", ".join(f"{r['p99']:.1f}" for r in runs[kind])
        print(f"  {kind:<9} publish -> socket queue p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms  "
              f"CPU {figures['cpu']:4.0f} us/event  (p99 of the runs: {each})")
    print(f"Redis / embedded: CPU per event {result['redis']['cpu'] / result['embedded']['cpu']:.2f}x, "
          f"p99 {result['redis']['p99'] / result['embedded']['p99']:.2f}x  (load average now {os.getloadavg()})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])))
    else:
        sys.exit(main())
