"""Stream freshness: producer -> Kafka (Tansu) -> processor -> Redis, sustained events/s and
event-to-servable time.

One run builds a temporary home of the real sample on the Redis profile (ingest, features,
apply), starts a Tansu broker on a free port and one `taxi-platform stream process`, then for
each rate replays stored trips live (`produce_live`, the producer of `stream produce --rate`)
for ``--seconds`` while a reader polls the 77 areas' online rows every 20 ms. An event is
servable when its area's row carries an event time at or after it; freshness is that poll's
wall time minus the event's time (both on this machine's clock, so the 20 ms poll is part of
it). Sustained events/s is what the processor consumed per second over the run; the lag at the
end is what it had not. Target: 10,000 events/s with freshness p99 under 1 s. Run it under
``nice`` on a shared machine and say so with the numbers.

    nice .venv/bin/python bench/stream_freshness.py [--rates 1000 10000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import current_commit, redis_home
from bench.report import Table, append_jsonl, p99
from taxi_platform.store.online import OnlineReader
from taxi_platform.store.repo import open_store
from taxi_platform.stream.kafka import ensure_topics
from taxi_platform.stream.producer import load_trips, produce_live
from tests.stream_support import Processor, applied_home, stream_settings, tansu

RESULTS = Path(__file__).resolve().parent / "results" / "stream_freshness.jsonl"
POLL_SECONDS = 0.02
AREAS = list(range(1, 78))


class Freshness:
    """Event times per area waiting to become servable, and the freshness of those that did."""

    def __init__(self) -> None:
        self.pending: dict[int, deque[int]] = {a: deque() for a in AREAS}
        self.samples: list[float] = []
        self.lock = threading.Lock()

    def sent(self, batch: list[dict]) -> None:
        with self.lock:
            for event in batch:
                self.pending[event["area_id"]].append(event["event_time_ms"])

    def seen(self, area: int, servable_ms: int, now: float) -> None:
        with self.lock:
            waiting = self.pending[area]
            while waiting and waiting[0] <= servable_ms:
                self.samples.append(now - waiting.popleft() / 1000)


def poll(settings, fresh: Freshness, stop: threading.Event) -> None:
    reader = OnlineReader(open_store(settings))
    refs = reader.resolve(["area_realtime_features:demand_level"])
    rows = [{"area_id": a} for a in AREAS]
    while not stop.wait(POLL_SECONDS):
        now = time.time()
        for area, cells in zip(AREAS, reader.read(rows, refs), strict=True):
            stamp = cells["demand_level"].event_timestamp
            if stamp is not None:
                fresh.seen(area, int(stamp.timestamp() * 1000), now)


def run_rate(settings, processor: Processor, trips, rate: int, seconds: float) -> dict:
    fresh, stop = Freshness(), threading.Event()
    poller = threading.Thread(target=poll, args=(settings, fresh, stop), daemon=True)
    poller.start()
    before = processor.metric("taxi_stream_events_total")
    began = time.time()
    sent = produce_live(settings, rate, trips, seconds, on_batch=fresh.sent)
    produced_for = time.time() - began
    consumed = processor.metric("taxi_stream_events_total") - before
    time.sleep(5)  # let the last pushes land before the freshness tally
    stop.set()
    poller.join()
    samples = sorted(fresh.samples)
    return {
        "rate": rate,
        "seconds": round(produced_for, 1),
        "sent_per_s": round(sent / produced_for),
        "consumed_per_s": round(consumed / produced_for),
        "behind_at_end": int(sent - consumed),
        "servable": len(samples),
        "not_servable_5s_after": sum(len(q) for q in fresh.pending.values()),
        "p50_s": round(statistics.median(samples), 3) if samples else None,
        "p99_s": round(p99(samples), 3) if len(samples) > 100 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    console = Console()
    with redis_home("stream-bench-", None) as (home, tmp), tansu(tmp) as bootstrap:
        # the tests' stream settings: a push and commit every 0.2 s, lateness 60 s
        settings = stream_settings(applied_home(home), bootstrap, "bench")
        ensure_topics(settings)
        trips = load_trips(settings)
        processor = Processor(settings, "bench").start()
        try:
            console.print("waiting for the processor (imports, group join)...")
            warm = run_rate(settings, processor, trips, 50, 5)
            while processor.metric("taxi_stream_pushes_total") == 0:
                time.sleep(1)
            console.print(f"warm-up: {warm}")
            results = [run_rate(settings, processor, trips, r, args.seconds) for r in args.rates]
        finally:
            processor.stop()
    table = Table("Stream freshness (producer -> Tansu -> processor -> Redis)",
                  ["events/s asked", "sent/s", "consumed/s", "behind at end",
                   "freshness p50 (s)", "p99 (s)"])  # fmt: skip
    for r in results:
        table.add(r["rate"], r["sent_per_s"], r["consumed_per_s"], r["behind_at_end"],
                  r["p50_s"], r["p99_s"])  # fmt: skip
    console.print(table.text())
    record = {"when": datetime.now(UTC).isoformat(), "commit": current_commit(), "runs": results}
    append_jsonl(RESULTS, record)
    console.print(json.dumps(record))


if __name__ == "__main__":
    main()
