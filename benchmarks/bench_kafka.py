"""Check-ins through the real broker and a real worker: throughput and latency (issue: streams).

Starts its own broker (in a temp home, unless ``--bootstrap`` is given) and one ``hazmat
worker`` process, then:

1. throughput: produces ``--n`` check-ins as fast as the producer can and measures until
   every verdict is consumed (sustained check-ins/s, end to end);
2. latency at ``--rate``/s for ``--seconds``: p50/p99 from check-in produced to verdict
   consumed;
3. baseline in the same run: the broker alone (produce → consume the same check-ins from
   the check-in topic, no worker), the floor any processor adds to.

Targets from the issue: ≥ 5,000 check-ins/s sustained; p99 ≤ 100 ms at 1,000/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat import broker  # noqa: E402
from hazmat.streams import names  # noqa: E402
from hazmat.streams.admin import ensure_topics  # noqa: E402
from tests.kafka_helpers import Worker, wait_for_members  # noqa: E402

SAMPLES = REPO / "config" / "cities" / "datong" / "samples" / "morning-checkins.jsonl"


def messages(run: str, n: int) -> list[tuple[str, bytes, bytes]]:
    bases = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i in range(n):
        data = dict(bases[i % len(bases)])
        data["event_id"] = f"{run}-{i}"
        out.append((data["event_id"], data["vehicle"]["plate"].encode(), json.dumps(data, ensure_ascii=False).encode()))
    return out


@contextmanager
def bench_kafka(bootstrap: str | None) -> Iterator[tuple[str, str, Path]]:
    """(bootstrap, a fresh topic prefix with its topics, a scratch folder): the Kafka given, or a
    local broker started in the scratch folder and stopped afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="hazmat-bench-"))
    info = None if bootstrap else broker.start(home=tmp / "broker", progress=print)
    address = bootstrap or info.bootstrap  # type: ignore[union-attr]
    prefix = f"b{uuid.uuid4().hex[:6]}."
    ensure_topics(address, prefix=prefix)
    try:
        yield address, prefix, tmp
    finally:
        if info:
            broker.stop(home=tmp / "broker")


def consumer_at_end(bootstrap: str, topic: str) -> KafkaConsumer:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10)
    tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
    c.assign(tps)
    c.seek_to_end(*tps)
    for tp in tps:
        c.position(tp)
    return c


def collect(consumer: KafkaConsumer, ids: set[str], field: str, seen: dict[str, float], timeout: float) -> None:
    """Note when each id first arrives; a regex, not a JSON parse, so the client stays light."""
    pattern = re.compile(rb'"' + field.encode() + rb'":\s*"([^"]+)"')
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            now = time.perf_counter()
            for r in records:
                m = pattern.search(r.value)
                key = m.group(1).decode() if m else None
                if key in ids and key not in seen:
                    seen[key] = now


def run_paced(
    bootstrap: str, topic_in: str, topic_out: str, field: str, batch: list[tuple[str, bytes, bytes]], rate: float
) -> list[float]:
    """Produce at ``rate``/s; return each message's latency (ms) to its output on ``topic_out``."""
    consumer = consumer_at_end(bootstrap, topic_out)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    ids = {eid for eid, _, _ in batch}
    reader = threading.Thread(target=collect, args=(consumer, ids, field, seen, len(batch) / rate + 60))
    reader.start()
    start = time.perf_counter()
    for i, (eid, key, value) in enumerate(batch):
        due = start + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.001))  # pacing the producer, not waiting for a result
        sent[eid] = time.perf_counter()
        producer.send(topic_in, key=key, value=value)
    producer.flush()
    reader.join()
    producer.close()
    consumer.close()
    missing = len(ids) - len(seen)
    if missing:
        print(f"  WARNING: {missing} of {len(ids)} not seen before the timeout")
    return sorted((seen[e] - sent[e]) * 1000 for e in seen)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): what a worker itself costs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="check-ins for the throughput run")
    parser.add_argument("--rate", type=float, default=1000, help="check-ins per second for the latency run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run")
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the partitions")
    args = parser.parse_args()

    with bench_kafka(args.bootstrap) as (bootstrap, prefix, tmp):
        checkins, verdicts = names.CHECKINS.name(prefix), names.VERDICTS.name(prefix)
        print(f"broker {bootstrap}, topics {prefix}*, {os.cpu_count()} cores, {args.workers} worker(s)")
        # baseline: the broker alone, no worker (check-ins produced and read back)
        base = run_paced(
            bootstrap, checkins, checkins, "event_id", messages("base", int(args.rate * args.seconds)), args.rate
        )
        workers = [
            Worker(
                bootstrap=bootstrap, prefix=prefix, archive=tmp / "archive.sqlite", log=tmp / f"worker{i}.log"
            ).start()
            for i in range(args.workers)
        ]
        try:
            if args.workers > 1:
                wait_for_members(bootstrap, prefix, args.workers)
            # warm-up: the worker joins its group and processes a first batch
            run_paced(bootstrap, checkins, verdicts, "checkin_event_id", messages("warm", 200), 200)
            lat = run_paced(
                bootstrap,
                checkins,
                verdicts,
                "checkin_event_id",
                messages("lat", int(args.rate * args.seconds)),
                args.rate,
            )
            batch = messages("tput", args.n)
            cpu_before = sum(cpu_seconds(w.proc.pid) for w in workers)
            consumer = consumer_at_end(bootstrap, verdicts)
            seen: dict[str, float] = {}
            reader = threading.Thread(
                target=collect, args=(consumer, {e for e, _, _ in batch}, "checkin_event_id", seen, 600)
            )
            reader.start()
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024)
            start = time.perf_counter()
            for _, key, value in batch:
                producer.send(checkins, key=key, value=value)
            producer.flush()
            produced_s = time.perf_counter() - start
            reader.join()
            cpu = sum(cpu_seconds(w.proc.pid) for w in workers) - cpu_before
            consumer.close()
            producer.close()
            done_s = (max(seen.values()) - start) if seen else float("nan")
            alive = all(w.alive() for w in workers)
        finally:
            for w in workers:
                w.stop()
        print(f"\nlatency, check-in produced → verdict consumed, {args.rate:.0f}/s for {args.seconds:.0f} s")
        print(f"{'':28}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, values in (("baseline: broker alone", base), ("worker(s), full pipeline", lat)):
            print(f"{name:28}{len(values):>7}{pct(values, 50):>9.1f}{pct(values, 99):>9.1f}{values[-1]:>9.1f}")
        print(f"worker adds {pct(lat, 50) - pct(base, 50):.1f} ms at p50, {pct(lat, 99) - pct(base, 99):.1f} ms at p99")
        print(f"\nthroughput: {args.n} check-ins produced in {produced_s:.2f} s ({args.n / produced_s:,.0f}/s offered)")
        print(
            f"  {len(seen)} verdicts in {done_s:.2f} s: {len(seen) / done_s:,.0f} check-ins/s sustained, worker alive: {alive}"
        )
        print(f"  worker CPU: {cpu * 1e6 / max(1, len(seen)):.0f} µs per check-in ({len(seen) / cpu:,.0f}/s per core)")
        print(f"target ≥ 5,000/s sustained: {'meets' if len(seen) / done_s >= 5000 else 'misses'}")
        print(f"target p99 ≤ 100 ms at 1,000/s: {'meets' if pct(lat, 99) <= 100 else 'misses'}")


if __name__ == "__main__":
    main()
