"""Zone time windows and ``applies_to``, evaluated in the city's local time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import Point

from hazmat.cityconfig import Window
from hazmat.hazard_classes import covers
from hazmat.routing.zones import Zone, window_active

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SH)


@pytest.mark.parametrize(
    ("start", "end", "when", "active"),
    [
        ("07:00", "21:00", "2026-11-26T07:00:00+08:00", True),
        ("07:00", "21:00", "2026-11-26T20:59:00+08:00", True),
        ("07:00", "21:00", "2026-11-26T21:00:00+08:00", False),
        ("07:00", "21:00", "2026-11-26T06:59:00+08:00", False),
        ("07:00", "21:00", "2026-11-25T23:30:00+00:00", True),  # 07:30 on the 26th in Shanghai
        ("22:00", "06:00", "2026-11-26T23:00:00+08:00", True),
        ("22:00", "06:00", "2026-11-27T05:59:00+08:00", True),
        ("22:00", "06:00", "2026-11-27T06:00:00+08:00", False),
        ("22:00", "06:00", "2026-11-26T12:00:00+08:00", False),
        ("00:00", "24:00", "2026-11-26T23:59:00+08:00", True),
    ],
)
def test_windows(start, end, when, active):
    assert window_active(Window(start=start, end=end), at(when)) is active


def test_days_of_a_window_crossing_midnight_refer_to_its_start():
    friday_night = Window(days=["fri"], start="22:00", end="06:00")
    assert window_active(friday_night, at("2026-11-27T23:00:00+08:00")) is True  # Friday 23:00
    assert window_active(friday_night, at("2026-11-28T05:00:00+08:00")) is True  # Saturday 05:00
    assert window_active(friday_night, at("2026-11-26T23:00:00+08:00")) is False  # Thursday 23:00


@pytest.mark.parametrize(
    ("entries", "hazard_class", "covered"),
    [(["2"], "2.3", True), (["2.3"], "2.3", True), (["2.1"], "2.3", False), (["3"], "2.3", False)],
)
def test_a_class_entry_covers_its_divisions(entries, hazard_class, covered):
    assert covers(entries, hazard_class) is covered


def _minute_by_minute(zone: Zone, start: datetime, hours: int = 24) -> list[datetime]:
    """The reference: step through every minute and note where the zone switches off."""
    out, t = [], start.replace(second=0, microsecond=0)
    was = zone.active(t)
    for _ in range(hours * 60):
        t += timedelta(minutes=1)
        now = zone.active(t)
        if was and not now:
            out.append(t)
        was = now
    return out


def test_the_ends_of_a_zone_match_a_minute_by_minute_scan():
    """Random weekly windows (crossing midnight, 24:00, several per zone), random starts in two time zones."""
    rng = random.Random(11)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hhmm = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 17, 30)] + ["24:00"]
    for case in range(60):
        windows = tuple(
            Window(days=rng.sample(days, rng.randint(1, 7)), start=rng.choice(hhmm[:-1]), end=rng.choice(hhmm))
            for _ in range(rng.randint(1, 3))
        )
        zone = Zone("z", "", "restricted", None, None, windows, 0.0, Point(0, 0), Point(0, 0), SH)
        start = datetime(2026, 11, 23, tzinfo=SH) + timedelta(minutes=rng.randrange(7 * 24 * 60), seconds=rng.random())
        start = start.astimezone(UTC) if case % 2 else start  # the answer keeps the caller's time zone
        expected = _minute_by_minute(zone, start)
        assert zone.ends_within(start) == expected, (windows, start)
        assert all(e.tzinfo == start.tzinfo for e in zone.ends_within(start))
