"""Zone time windows and ``applies_to``, evaluated in the city's local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hazmat.cityconfig import Window
from routing.zones import covers, window_active

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
