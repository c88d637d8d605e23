"""Ping → alert latency through the real broker and a real worker (issue: monitoring).

Starts its own broker (unless ``--bootstrap``) and one ``hazmat worker`` on the bundled
Harbin city, then sends position pings at ``--rate``/s for ``--seconds``: each of
``--vehicles`` vehicles alternates between 120 and 40 km/h, so every ping starts or ends
a ``speeding`` condition and yields exactly one alert whose ``source_event_id`` is the ping.
Reports p50/p99 from ping produced to alert consumed; the baseline in the same run is the
broker alone (pings produced and read back from the positions topic once the worker has
stopped). Also the worker's own CPU time per ping (from /proc): the broker and this load
generator share the machine's cores with it, so the CPU cost, not the latency knee, says
how many pings a core given to a worker can take.

    python benchmarks/bench_alert_latency.py [--rate 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_kafka import bench_kafka, cpu_seconds, pct, run_paced  # noqa: E402

from hazmat.streams import names  # noqa: E402
from tests.kafka_helpers import Worker  # noqa: E402

HARBIN = REPO / "config" / "cities" / "harbin"


def pings(run: str, n: int, vehicles: int, day: int = 0, every: int = 1) -> list[tuple[str, bytes, bytes]]:
    """Pings of ``day`` (a later run must not look older than what the worker has already seen).

    A vehicle's speed flips every ``every`` pings, so one ping in ``every`` starts or ends speeding
    (only those are timed: the others have no alert to wait for).
    """
    start = datetime(2026, 11, 26, 2, 0, tzinfo=UTC) + timedelta(days=day)
    out = []
    for i in range(n):
        v, step = i % vehicles, i // vehicles
        plate = f"黑A{v:05d}"
        event_id = f"{run}-{i:07d}"
        ping = {
            "schema_version": 1, "event_id": event_id, "plate": plate,
            "at": (start + timedelta(seconds=10 * step)).isoformat(),
            "lon": 126.60 + 0.0001 * step, "lat": 45.70 + 0.001 * (v % 50),
            "speed_kmh": 120.0 if (step // every) % 2 == 0 else 40.0,
        }  # fmt: skip
        out.append((event_id, plate.encode(), json.dumps(ping, ensure_ascii=False).encode()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500, help="pings per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument(
        "--alert-every",
        type=int,
        default=1,
        help="1: every ping alerts (worst case); 10: one in ten, like real traffic",
    )
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    args = parser.parse_args()
    with bench_kafka(args.bootstrap) as (bootstrap, prefix, tmp):
        positions, alerts = names.POSITIONS.name(prefix), names.ALERTS.name(prefix)
        n = int(args.rate * args.seconds)
        print(f"broker {bootstrap}, topics {prefix}*, {os.cpu_count()} cores, {args.vehicles} vehicles")
        worker = Worker(
            bootstrap=bootstrap, prefix=prefix, archive=tmp / "archive.sqlite", log=tmp / "worker.log",
            extra_env={"HAZMAT_CITY": str(HARBIN)},
        ).start()  # fmt: skip
        try:
            # warm-up: the worker joins, recovers its tables and builds the geofence once
            run_paced(
                bootstrap, positions, alerts, "source_event_id", pings("warm", 2 * args.vehicles, args.vehicles), 200
            )
            cpu_before = cpu_seconds(worker.proc.pid)
            lat = run_paced(
                bootstrap,
                positions,
                alerts,
                "source_event_id",
                pings("lat", n, args.vehicles, day=1, every=args.alert_every),
                args.rate,
            )
            alive = worker.alive()
            cpu = cpu_seconds(worker.proc.pid) - cpu_before
        finally:
            worker.stop()
        # baseline after the worker has stopped, so it does not also handle these pings
        base = run_paced(bootstrap, positions, positions, "event_id", pings("base", n, args.vehicles, 2), args.rate)
        print(f"\nlatency, ping produced → alert consumed, {args.rate:.0f}/s for {args.seconds:.0f} s")
        print(f"{'':28}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, values in (("baseline: broker alone", base), ("worker, full pipeline", lat)):
            print(f"{name:28}{len(values):>7}{pct(values, 50):>9.1f}{pct(values, 99):>9.1f}{values[-1]:>9.1f}")
        print(f"worker adds {pct(lat, 50) - pct(base, 50):.1f} ms at p50, {pct(lat, 99) - pct(base, 99):.1f} ms at p99")
        print(f"alerts for {len(lat)} of {n} pings, worker alive: {alive}")
        print(f"worker CPU: {cpu * 1e6 / n:.0f} µs per ping, so one core sustains about {n / cpu:,.0f} pings/s")


if __name__ == "__main__":
    main()
