"""Real-time area features through a real Kafka-protocol broker (Tansu), the real processor
(`taxi-platform stream process` children) and a real Redis of the module's own: events become
features online and offline; a SIGKILL, dead letters, two processors and a Redis outage leave
the same features as the independent reference (tests/stream_support.py)."""

from __future__ import annotations

import json
import random
import signal
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from confluent_kafka import Consumer, TopicPartition

from taxi_platform.polling import poll_until
from taxi_platform.settings import load_settings
from taxi_platform.store.online import OUTSIDE_MAX_AGE, PRESENT, OnlineReader
from taxi_platform.store.repo import open_store
from taxi_platform.stream.baselines import load_baselines
from taxi_platform.stream.kafka import client_config, ensure_topics
from taxi_platform.stream.producer import Publisher, weather_events
from tests.conftest import make_home
from tests.redis_support import PrivateRedis, free_port
from tests.stream_support import (
    REALTIME,
    WINDOW_MS,
    Processor,
    applied_home,
    newest_windows,
    reference,
    stream_settings,
    tansu,
)

BOUND = 300.0  # seconds for a processor to start (imports, group join) and catch up, loaded


@pytest.fixture(scope="module")
def world(tmp_path_factory, sample_csv):
    """A private Redis, a home on it (sample ingested, features computed, repo applied), a
    Tansu broker and the main processor, for the whole module (a processor takes a minute to
    start on a loaded 2-core machine: imports, group join, changelog topics). Each test
    publishes onto the same topic for areas of its own."""
    tmp = tmp_path_factory.mktemp("stream")
    redis = PrivateRedis(tmp, free_port())
    redis.start()
    try:
        home = make_home(tmp / "home", sample_csv)
        settings = applied_home(load_settings(home=home, profile="redis", redis_port=redis.port))
        with tansu(tmp) as bootstrap:
            st = stream_settings(settings, bootstrap, "main")
            ensure_topics(st)
            main = Processor(st, "main").start()
            try:
                yield st, redis, main
            finally:
                main.stop(signal.SIGKILL)
    finally:
        if redis.process.poll() is None:
            redis.process.terminate()
            redis.process.wait(timeout=10)


def _trip(area: int, i: int, at: int, rng: random.Random) -> list[dict]:
    common = {"schema_version": 1, "area_id": area, "trip_id": f"t{area}-{i}"}
    seconds = rng.choice([30, *range(120, 2400, 60)])  # some too short to be a speed
    return [
        common | {"event_id": f"p{area}-{i}", "kind": "pickup", "event_time_ms": at},
        common | {"event_id": f"d{area}-{i}", "kind": "dropoff", "event_time_ms": at + 1,
                  "trip_miles": round(rng.uniform(0.0, 9.0), 2), "trip_seconds": seconds,
                  "fare": 12.5, "dropoff_area_id": rng.randint(1, 77)},
    ]  # fmt: skip


def history(areas: range, trips: int, seed: int) -> tuple[int, list[dict], list[dict]]:
    """Three past 15-minute windows of trips and weather per area, then a few trips in the
    current window 2 minutes after its start (they close the three past windows): the first
    window's start, the main events and the closing ones, each in time order."""
    rng = random.Random(seed)
    base = (int(time.time() * 1000) // WINDOW_MS - 3) * WINDOW_MS
    main = []
    for area in areas:
        for w in range(3):
            main += weather_events(base + w * WINDOW_MS + rng.randrange(WINDOW_MS), 7, [area])
        for i in range(trips):
            main += _trip(area, i, base + rng.randrange(3 * WINDOW_MS - 1), rng)
    closing = [e for area in areas for e in _trip(area, -1, base + 3 * WINDOW_MS + 120_000, rng)]
    main.sort(key=lambda e: e["event_time_ms"])
    return base, main, closing


def publish(settings, events: list[dict]) -> None:
    publisher = Publisher(settings)
    for event in events:
        publisher.publish(event)
    publisher.flush()


def online(settings, areas) -> pd.DataFrame:
    reader = OnlineReader(open_store(settings))
    refs = reader.resolve([f"area_realtime_features:{f}" for f in REALTIME])
    cells = reader.read([{"area_id": a} for a in areas], refs)
    return pd.DataFrame([{f: c[f].value for f in REALTIME} for c in cells], index=list(areas))


def same(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    """Equal features (float32 in the store), null where the reference has none."""
    for area, row in want.iterrows():
        for f in REALTIME:
            a, b = got.loc[area, f], row[f]
            if pd.isna(b) or b is None:
                if not (a is None or pd.isna(a)):
                    return False
            elif a is None or (a != b if isinstance(b, str) else abs(a - b) > 1e-4 * abs(b)):
                return False
    return True


def until_online(settings, want: pd.DataFrame, processors) -> pd.DataFrame:
    def check():
        for p in processors:
            assert p.process.poll() is None, p.tail()
        got = online(settings, want.index)
        return got if same(got, want) else None

    failure = lambda: f"online {online(settings, want.index)} != {want}"  # noqa: E731
    return poll_until(check, timeout=BOUND, interval=0.5, failure=failure)


def historical(settings, rows: list[tuple[int, int]]) -> pd.DataFrame:
    entity = pd.DataFrame(
        {"area_id": [a for a, _ in rows],
         "event_timestamp": [datetime.fromtimestamp(ms / 1000, UTC) for _, ms in rows]}
    )  # fmt: skip
    features = [f"area_realtime_features:{f}" for f in REALTIME]
    frame = open_store(settings).get_historical_features(entity_df=entity, features=features)
    return frame.to_df().sort_values(["area_id", "event_timestamp"]).reset_index(drop=True)


def check_closed_windows_offline(settings, expected: pd.DataFrame, base: int) -> None:
    """Point-in-time: a window's features from its end on (a second later), none before it."""
    closed = expected[expected["end"] <= base + 3 * WINDOW_MS].sort_values(["area_id", "end"])
    rows = [(a, end + 1000) for a, end in zip(closed.area_id, closed.end, strict=True)]
    got = historical(settings, rows)
    want = closed.set_index("area_id")[REALTIME]
    for i, (area, row) in enumerate(want.iterrows()):
        assert same(got.iloc[[i]].set_index("area_id"), row.to_frame().T), (area, got.iloc[i])
    first = historical(settings, [(a, base + 60_000) for a in sorted(set(closed.area_id))])
    assert first["current_speed_mph"].isna().all() and first["demand_level"].isna().all()


def committed(settings) -> int:
    """The group's committed offsets, summed over the partitions (what a restart resumes from)."""
    consumer = Consumer(client_config(settings) | {"group.id": settings.stream_group})
    try:
        topic = settings.stream_events_topic
        parts = [TopicPartition(topic, p) for p in range(settings.stream_partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def end_offsets(settings) -> int:
    consumer = Consumer(client_config(settings) | {"group.id": "end-offsets"})
    try:
        topic = settings.stream_events_topic
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(settings.stream_partitions)
        )
    finally:
        consumer.close()


def all_committed(settings) -> None:
    poll_until(lambda: committed(settings) == end_offsets(settings) or None, timeout=BOUND,
               interval=0.5, failure="not every message was committed")  # fmt: skip


def test_events_become_features_online_and_offline_with_lateness(world, record_property):
    st, _, main = world
    areas = range(1, 9)
    base, events, closing = history(areas, 40, seed=1)
    end3 = base + 3 * WINDOW_MS
    rng = random.Random(2)
    ahead = _trip(1, -2, end3 + 30_000, rng)  # moves area 1's partition 30 s past window 3
    late = _trip(1, -3, end3 - 300_000, rng)  # 5 min late into window 3: within the 60 s grace
    too_late = _trip(1, -4, base + WINDOW_MS + 1000, rng)  # window 2, already closed: dropped
    started = time.monotonic()
    publish(st, [*events, *ahead, *late, *closing, *too_late])
    expected = reference([*events, *ahead, *late, *closing], load_baselines(st))
    until_online(st, newest_windows(expected), [main])
    record_property("measured", f"features online {time.monotonic() - started:.1f}s after "
                    "publishing (the processor's start included)")  # fmt: skip
    poll_until(lambda: main.metric("taxi_stream_late_events_total") >= 2 or None,
               timeout=BOUND, interval=0.5, failure="too-late events not counted")  # fmt: skip
    check_closed_windows_offline(st, expected, base)
    assert main.health()["status"] == "ok" and main.metric("taxi_stream_pushes_total") > 0
    reader = OnlineReader(open_store(st))
    refs = reader.resolve(service="model_inference_v2")
    last = datetime.fromtimestamp(expected["last_ms"].max() / 1000, UTC)
    row = [{"area_id": 1, "trip_id": "none", "company_name": "none"}]
    fresh = reader.read(row, refs, now=last + timedelta(hours=1, minutes=50))[0]
    stale = reader.read(row, refs, now=last + timedelta(hours=2, minutes=1))[0]
    for name in ("current_speed_mph", "traffic_level", "demand_level"):
        assert fresh[name].status == PRESENT and stale[name].status == OUTSIDE_MAX_AGE
        assert stale[name].age_seconds > 7200 and stale[name].value == fresh[name].value


def test_malformed_and_invalid_messages_go_to_the_dead_letter_topic(world):
    st, _, main = world
    valid = weather_events(int(time.time() * 1000), 7, [30])
    bad = [
        (b"30", b"{not json", "not JSON"),
        (b"30", b"[1, 2]", "not a JSON object"),
        (b"30", json.dumps(valid[0] | {"area_id": 99}).encode(), "area_id"),
        (b"30", json.dumps({**valid[0], "kind": "dropoff"}).encode(), "is a required property"),
        (b"31", json.dumps(valid[0]).encode(), "is not the event's area_id"),
        (b"30", json.dumps(valid[0] | {"schema_version": 2}).encode(), "schema_version"),
    ]
    publisher = Publisher(st)
    for key, value, _ in bad:
        publisher.publish_raw(key, value)
    publisher.flush()
    publish(st, valid)  # after the bad ones, on the same partition: the loop went on
    want = pd.DataFrame([{"current_speed_mph": None, "traffic_level": None,
                          "weather_condition": valid[0]["condition"], "demand_level": 0.0}],
                        index=[30])  # fmt: skip
    until_online(st, want, [main])
    letters = _dead_letters(st, len(bad))
    assert main.metric("taxi_stream_dead_letters_total") == len(bad)
    by_value = {letter["value"]: letter for letter in letters}
    for key, value, reason in bad:
        letter = by_value[value.decode()]
        assert reason in letter["reason"], letter
        assert letter["key"] == key.decode() and letter["offset"] >= 0


def _dead_letters(settings, n: int) -> list[dict]:
    consumer = Consumer(client_config(settings) | {"group.id": "dead-reader",
                                                  "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.assign([TopicPartition(settings.stream_dead_letter_topic, p)
                     for p in range(settings.stream_partitions)])  # fmt: skip
    letters: list[dict] = []

    def more():
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            letters.append(json.loads(message.value()))
        return letters if len(letters) >= n else None

    try:
        poll_until(more, timeout=BOUND, interval=0, failure=lambda: f"dead letters: {letters}")
    finally:
        consumer.close()
    return letters


def test_two_processors_split_the_partitions_and_give_the_same_features(world):
    """Two processors of a new group, started together, split the partitions of their topic
    and together give the reference features. (Tansu 0.6 did not rebalance a group whose
    member was already consuming when a second one joined: the newcomer got no partition in
    5 minutes, so both start together here.)"""
    main_settings, _, _ = world
    st = stream_settings(main_settings, main_settings.stream_bootstrap_servers, "pair")
    ensure_topics(st)
    pair = [Processor(st, "pair-a").start(), Processor(st, "pair-b").start()]
    try:
        base, events, closing = history(range(41, 61), 30, seed=4)
        publish(st, [*events, *closing])
        expected = reference([*events, *closing], load_baselines(st))
        until_online(st, newest_windows(expected), pair)
        check_closed_windows_offline(st, expected, base)
        counts = [p.metric("taxi_stream_events_total") for p in pair]
        assert all(counts) and sum(counts) == len(events) + len(closing), counts
        all_committed(st)
    finally:
        for p in pair:
            p.stop()


def test_sigkill_mid_stream_then_restart_counts_every_event_once(world, record_property):
    """The main processor is SIGKILLed while it works through a backlog and started again:
    it recovers its window state and the committed offsets, redoes what was not committed,
    and every event counts once (pickups are demand, dropoffs the mean speed)."""
    st, _, main = world
    base, events, closing = history(range(11, 21), 300, seed=3)
    already = main.metric("taxi_stream_events_total")
    publish(st, [*events, *closing])
    killed_at = poll_until(
        lambda: ((n := main.metric("taxi_stream_events_total") - already) > 0 and n) or None,
        timeout=BOUND, interval=0.05, failure="the processor processed nothing",
    )  # fmt: skip
    main.stop(signal.SIGKILL)
    total = len(events) + len(closing)
    record_property("measured", f"SIGKILL after {killed_at:.0f} of {total} events")
    assert killed_at < total, "killed after the whole backlog: not mid-stream"
    main.start()
    expected = reference([*events, *closing], load_baselines(st))
    until_online(st, newest_windows(expected), [main])
    check_closed_windows_offline(st, expected, base)
    all_committed(st)


def test_online_store_down_for_a_while_loses_nothing(world, record_property):
    st, redis, main = world
    base, events, closing = history(range(61, 71), 60, seed=5)
    half = len(events) // 2
    publish(st, events[:half])
    until_online(st, newest_windows(reference(events[:half], load_baselines(st))), [main])
    all_committed(st)
    redis.stop()
    try:
        mark = committed(st)
        publish(st, [*events[half:], *closing])
        degraded = poll_until(
            lambda: ((h := main.health()) and h["status"] == "degraded" and h) or None,
            timeout=BOUND, interval=0.5, failure="the processor did not report the outage",
        )  # fmt: skip
        assert "online store" in degraded["reason"]
        time.sleep(2)  # a few more failed pushes and backoffs
        assert committed(st) == mark  # nothing committed while the pushes fail
    finally:
        redis.start()
    expected = reference([*events, *closing], load_baselines(st))
    until_online(st, newest_windows(expected), [main])
    check_closed_windows_offline(st, expected, base)
    all_committed(st)
    poll_until(lambda: main.health()["status"] == "ok" or None, timeout=BOUND,
               interval=0.5, failure="still degraded after Redis came back")  # fmt: skip
    record_property("measured", "push failures during the outage: "
                    f"{main.metric('taxi_stream_push_failures_total'):.0f}")  # fmt: skip
