"""Scale-out on the real broker: three workers share the partitions, one is killed mid-trip.

The golden fleet (``benchmarks/record_alerts.py``: the demo and 200 vehicles on Harbin) is
played through three workers of one consumer group; when every vehicle is halfway through its
trip and the second halves are on their way, one worker gets SIGKILL. Its partitions, and its
vehicles' state (loads, routes, open conditions), move to the other two, which re-read what it
had not committed. What comes back, copies dropped by id as the reliability suite counts, must
be the recording exactly: no alert lost, none doubled (a second ``raised`` for a condition
already open would be a new alert id), verdicts, routes and dead letters the same.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from benchmarks.record_alerts import city_copy, differences, play, recording
from hazmat.streams import names
from tests.kafka_helpers import Worker, new_prefix, prepare, wait_for_members

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


class Survivors:
    """What the phases ask of "the worker": whether the workers not killed on purpose are alive."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.killed: list[Worker] = []

    def alive(self) -> bool:
        return all(w.alive() for w in self.workers if w not in self.killed)

    def kill(self, victim: Worker) -> None:
        self.killed.append(victim)
        victim.stop(signal.SIGKILL)


def test_three_workers_share_the_fleet_and_one_killed_mid_trip_loses_and_doubles_no_alert(kafka: str, tmp_path: Path):
    prefix = new_prefix()
    prepare(kafka, prefix)
    city = city_copy(tmp_path / "city")
    workers = [
        Worker(
            bootstrap=kafka, prefix=prefix, archive=tmp_path / "archive.sqlite", log=tmp_path / f"w{i}.log",
            extra_env={"HAZMAT_CITY": str(city)},
        ).start()
        for i in range(3)
    ]  # fmt: skip
    fleet = Survivors(workers)
    try:
        held = wait_for_members(kafka, prefix, 3, timeout=120)
        assert sorted(p for parts in held for p in parts) == [0, 1, 2]  # one partition each
        victim = workers[1]
        played = play(kafka, prefix, fleet, [names.group_id(prefix)], mid_trip=lambda: fleet.kill(victim))  # type: ignore[arg-type]
        assert not victim.alive()
        assert fleet.alive(), [w.tail() for w in workers]
        survivors = wait_for_members(kafka, prefix, 2, timeout=60)
        assert sorted(p for parts in survivors for p in parts) == [0, 1, 2]  # the victim's partition moved
        rec = recording(played, prefix)
        copies = rec["_duplicates"]
        print(f"\n[scale-out] 3 workers, one SIGKILL mid-trip: copies dropped by id {copies or 'none'}")
        for s in ("demo", "fleet"):
            print(f"[scale-out] {s}: {rec[s]['meta']['outputs']}")
        assert differences(rec) == []
    finally:
        for w in workers:
            w.stop()
