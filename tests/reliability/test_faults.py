"""Faults on the real broker: a worker killed with SIGKILL, a broker restarted, a flood of bad input.

Each scenario prints its counts (produced, verdicts, duplicates, losses, dead letters, archived)
so the figures can be read off a CI log.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazmat import broker
from hazmat.streams import names
from tests.helpers import base
from tests.kafka_helpers import Tap, Worker, new_prefix, prepare, producer, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def checkins(n: int, tag: str) -> list[tuple[bytes, bytes]]:
    template = base()
    out = []
    for i in range(n):
        template["event_id"] = f"{tag}-{i}"
        plate = f"晋B{i % 997:05d}"
        template["vehicle"]["plate"] = plate
        template["documents"]["waybill"]["plate"] = plate
        out.append((plate.encode(), json.dumps(template, ensure_ascii=False).encode()))
    return out


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    p = producer(bootstrap)
    for key, value in messages:
        p.send(topic, key=key, value=value)
    p.flush()
    p.close()


def archived(path: Path, tag: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM checkins WHERE event_id LIKE ?", (f"{tag}-%",)).fetchone()[0]


def report(scenario: str, produced: int, tap: Tap, tag: str, archive: Path) -> tuple[int, int]:
    ids = [
        m["checkin_event_id"] for m in tap.messages["hazmat.verdicts"] if m["checkin_event_id"].startswith(f"{tag}-")
    ]
    distinct = len(set(ids))
    rows = wait_until(lambda: archived(archive, tag), distinct, what=f"[{scenario}] archived")
    print(
        f"\n[{scenario}] produced {produced}, verdict messages {len(ids)}, distinct verdicts {distinct}, "
        f"duplicates {len(ids) - distinct}, lost {produced - distinct}, archived {rows}, "
        f"dead letters {len(tap.messages.get('hazmat.dlq', []))}"
    )
    return distinct, rows


@pytest.fixture
def setup(kafka: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    prefix = new_prefix()
    prepare(kafka, prefix)
    return kafka, prefix, tmp_path


def test_a_worker_killed_mid_load_loses_nothing_and_archives_once(setup):
    kafka, prefix, tmp = setup
    archive = tmp / "archive.sqlite"
    n = 20_000
    first = Worker(bootstrap=kafka, prefix=prefix, archive=archive, log=tmp / "w1.log").start()
    tap = Tap(kafka, prefix, names.VERDICTS, names.DLQ)
    try:
        produce(kafka, names.CHECKINS.name(prefix), checkins(n, "kill"))
        tap.wait_for(lambda t: len(t.messages["hazmat.verdicts"]) >= 3000, timeout=180, worker=first)
        first.stop(signal.SIGKILL)
        second = Worker(bootstrap=kafka, prefix=prefix, archive=archive, log=tmp / "w2.log").start()
        try:
            tap.wait_for(
                lambda t: len({m["checkin_event_id"] for m in t.messages["hazmat.verdicts"]}) >= n,
                timeout=300,
                worker=second,
            )
            # the first worker may have sent verdicts whose checkpoint (archive write, offsets) it never
            # committed: the second handles those check-ins again, so the archive fills while it runs
            wait_until(lambda: archived(archive, "kill"), n, timeout=180, what="[worker SIGKILL] archived")
            assert second.alive()
        finally:
            second.stop()
        distinct, rows = report("worker SIGKILL", n, tap, "kill", archive)
        assert distinct == n
        assert rows == n
    finally:
        tap.close()
        first.stop()


def test_a_broker_restart_mid_load_loses_nothing(tmp_path):
    home = tmp_path / "broker"
    info = broker.start(home=home, progress=print)
    prefix = new_prefix()
    archive = tmp_path / "archive.sqlite"
    worker = None
    tap = None
    try:
        prepare(info.bootstrap, prefix)
        worker = Worker(bootstrap=info.bootstrap, prefix=prefix, archive=archive, log=tmp_path / "w.log").start()
        messages = checkins(20_000, "bounce")
        produce(info.bootstrap, names.CHECKINS.name(prefix), messages[:10_000])
        tap = Tap(info.bootstrap, prefix, names.VERDICTS)
        tap.wait_for(lambda t: len(t.messages["hazmat.verdicts"]) >= 2000, timeout=180, worker=worker)
        tap.close()
        broker.stop(home=home)
        again = broker.start(home=home, port=info.port, progress=print)
        assert again.bootstrap == info.bootstrap
        produce(info.bootstrap, names.CHECKINS.name(prefix), messages[10_000:])
        tap = Tap(info.bootstrap, prefix, names.VERDICTS)
        tap.wait_for(
            lambda t: len({m["checkin_event_id"] for m in t.messages["hazmat.verdicts"]}) >= 20_000,
            timeout=300,
            worker=worker,
        )
        tap.messages.setdefault("hazmat.dlq", [])
        distinct, rows = report("broker restart", 20_000, tap, "bounce", archive)
        assert worker.alive()
        assert distinct == 20_000
        assert rows == 20_000
    finally:
        if tap is not None:
            tap.close()
        if worker is not None:
            worker.stop()
        broker.stop(home=home)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=5),
    max_leaves=30,
)
MALFORMED = st.one_of(
    st.binary(min_size=1, max_size=300),  # broken UTF-8, broken JSON
    _JSONISH.map(lambda v: json.dumps(v).encode()),  # wrong types, missing fields
    st.integers(1, 200).map(lambda d: ("[" * d + "]" * d).encode()),  # deep nesting
    st.integers(10_000, 200_000).map(
        lambda k: json.dumps({"schema_version": 1, "event_id": "x" * k}).encode()
    ),  # huge strings
    st.sampled_from(["colour", "vehicle_color", "eventId"]).map(
        lambda f: json.dumps({**base(), f: 1}, ensure_ascii=False).encode()
    ),
    st.integers(-(10**12), -1).map(
        lambda q: json.dumps({**base(), "load": [{**base()["load"][0], "quantity_kg": q}]}, ensure_ascii=False).encode()
    ),
)


def test_fuzzed_input_goes_to_the_dlq_and_valid_input_around_it_is_judged(setup):
    kafka, prefix, tmp = setup
    rng = random.Random(5)
    bad: list[bytes] = []

    @settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(MALFORMED)
    def collect(message: bytes) -> None:
        bad.append(message)

    collect()
    good = checkins(2_000, "fz")
    mixed: list[tuple[bytes | None, bytes | None]] = list(good)
    for message in bad:
        key = "".join(rng.choice(string.ascii_letters) for _ in range(4)).encode()
        mixed.insert(rng.randrange(len(mixed) + 1), (key, message))
    archive = tmp / "archive.sqlite"
    worker = Worker(bootstrap=kafka, prefix=prefix, archive=archive, log=tmp / "w.log").start()
    tap = Tap(kafka, prefix, names.VERDICTS, names.DLQ)
    try:
        produce(kafka, names.CHECKINS.name(prefix), mixed)
        tap.wait_for(
            lambda t: (
                len({m["checkin_event_id"] for m in t.messages["hazmat.verdicts"]}) >= len(good)
                and len(t.messages["hazmat.dlq"]) >= len(bad)
            ),
            timeout=300,
            worker=worker,
        )
        distinct, rows = report("fuzz", len(good), tap, "fz", archive)
        dead = tap.messages["hazmat.dlq"]
        print(f"[fuzz] malformed produced {len(bad)}, dead letters {len(dead)}")
        assert distinct == len(good)
        assert rows == len(good)
        assert len(dead) == len(bad)
        assert all(d["error"] and d["errors"] for d in dead)
        assert worker.alive()
    finally:
        tap.close()
        worker.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_burst_of_100000_checkins_is_processed_in_bounded_memory(setup):
    kafka, prefix, tmp = setup
    n = 100_000
    archive = tmp / "archive.sqlite"
    produce(kafka, names.CHECKINS.name(prefix), checkins(n, "burst"))  # the whole burst waits in Kafka first
    worker = Worker(bootstrap=kafka, prefix=prefix, archive=archive, log=tmp / "w.log").start()
    tap = Tap(kafka, prefix, names.VERDICTS)
    samples: list[float] = []
    seen: set[str] = set()

    def done(t: Tap) -> bool:
        assert worker.proc is not None
        samples.append(_rss_mb(worker.proc.pid))
        seen.update(m["checkin_event_id"] for m in t.messages["hazmat.verdicts"])
        t.messages["hazmat.verdicts"].clear()  # the tap itself must not hold 100,000 verdicts
        return len(seen) >= n

    try:
        tap.wait_for(done, timeout=600, worker=worker)
        rows = wait_until(lambda: archived(archive, "burst"), n, what="[burst] archived")
        print(
            f"\n[burst] produced {n}, distinct verdicts {len(seen)}, archived {rows}, worker RSS max {max(samples):.0f} MB"
        )
        assert len(seen) == n
        assert rows == n
        assert max(samples) < 1024, "the worker's memory grew with the backlog"
        early = samples[len(samples) // 10]
        assert max(samples) - early < 300, (early, max(samples))
    finally:
        tap.close()
        worker.stop()
