"""Zone state changes found at the windows' boundaries equal those found minute by minute (issue #18).

The fast search is exact when no applicable zone changes state during the trip; a trip of
hours across a province is tested at the moments a zone's windows can change instead of at
each of its minutes. Random windows (days, spans across midnight, 24:00), departures and trip
lengths: both say the same.
"""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from hazmat.routing.zones import WindowMarks, load_zones
from tests.routing_helpers import zone

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _window(rng: random.Random) -> dict:
    def hhmm() -> str:
        m = rng.choice([0, 30, 59, 60 * rng.randint(0, 23) + rng.randint(0, 59), 1439])
        return f"{m // 60:02d}:{m % 60:02d}"

    end = "24:00" if rng.random() < 0.1 else hhmm()
    return {"days": sorted(rng.sample(DAYS, rng.randint(1, 7)), key=DAYS.index), "start": hhmm(), "end": end}


def test_changes_at_the_boundaries_are_the_changes_minute_by_minute(router):
    rng = random.Random(18)
    tz = ZoneInfo("Asia/Shanghai")
    features = [
        zone(f"w{k}", 104.05, 30.66, 104.06, 30.67, windows=[_window(rng) for _ in range(rng.randint(1, 3))])
        for k in range(40)
    ]
    zones = load_zones(router.city, router.projection, features)
    changed = 0
    for z in zones:
        for _ in range(15):
            depart = datetime(2026, 11, rng.randint(20, 30), rng.randint(0, 23), rng.randint(0, 59), tzinfo=tz)
            start = int(depart.timestamp() // 60)
            minutes = rng.choice([5, 90, 600, 1440, 2000])
            before = z.active_at_epoch(depart.timestamp())
            every = any(z.active_at_epoch(m * 60) != before for m in range(start + 1, start + minutes + 2))
            moments = z.changes_between((start + 1) * 60, (start + minutes + 1) * 60)
            assert all(t % 60 == 0 for t in moments)
            assert any(z.active_at_epoch(t) != before for t in moments) == every, (z.windows, depart, minutes)
            changed += every
    assert changed > 50  # the windows really changed during many of the trips


def test_the_zones_that_switch_during_a_trip_are_found_at_once_as_one_by_one(router):
    """:class:`WindowMarks` (one search over every windowed zone's marks) names the zones the per-zone test does:
    a zone whose state at one of its moments within the trip is not its state at departure."""
    rng = random.Random(19)
    tz = ZoneInfo("Asia/Shanghai")
    features = [
        zone(f"w{k}", 104.05, 30.66, 104.06, 30.67, windows=[_window(rng) for _ in range(rng.randint(1, 3))])
        if k % 3
        else zone(f"a{k}", 104.05, 30.66, 104.06, 30.67)  # no window: never switches
        for k in range(40)
    ]
    zones = load_zones(router.city, router.projection, features)
    marks = WindowMarks(zones)
    found = 0
    for _ in range(200):
        depart = datetime(2026, 11, rng.randint(20, 30), rng.randint(0, 23), rng.randint(0, 59), tzinfo=tz)
        start = int(depart.timestamp() // 60)
        minutes = rng.choice([5, 90, 600, 1440, 2000])
        first_s, last_s = (start + 1) * 60, (start + minutes + 1) * 60
        now = marks.active_at(start)
        assert now.tolist() == [z.active(depart) for z in zones]
        one_by_one = {
            k
            for k, z in enumerate(zones)
            if any(z.active_at_epoch(t) != z.active(depart) for t in z.changes_between(first_s, last_s))
        }
        assert marks.differing(first_s, last_s, now) == one_by_one, (depart, minutes)
        found += len(one_by_one)
    assert found > 200  # many trips saw zones switch
