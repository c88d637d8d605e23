"""The demo's sample morning moved to today: the pure date shift and the choice of the shift."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from hazmat.checking import judge
from hazmat.cityconfig import CITIES_DIR, Window, load_city
from hazmat.demo import todays_samples
from hazmat.demo_samples import demo_shift, shift_dates, step_days


def test_every_date_and_timestamp_moves_by_the_same_days_and_keeps_its_spelling():
    value = {
        "occurred_at": "2026-11-26T07:05:00+08:00",
        "at": "2026-12-31T23:59:59.250Z",
        "naive": "2026-11-26T07:05",
        "valid_until": "2027-02-28",
        "nested": [{"until": "2026-11-30"}, "2024-02-28", 3, None, True],
    }
    assert shift_dates(value, 1) == {
        "occurred_at": "2026-11-27T07:05:00+08:00",
        "at": "2027-01-01T23:59:59.250Z",
        "naive": "2026-11-27T07:05",
        "valid_until": "2027-03-01",
        "nested": [{"until": "2026-12-01"}, "2024-02-29", 3, None, True],
    }
    assert shift_dates(value, -366)["valid_until"] == "2026-02-27"


def test_a_shifted_timestamp_is_the_same_instant_plus_whole_days():
    moved = shift_dates("2026-11-26T07:05:00+08:00", 40)
    delta = datetime.fromisoformat(moved) - datetime.fromisoformat("2026-11-26T07:05:00+08:00")
    assert delta.total_seconds() == 40 * 24 * 3600


@pytest.mark.parametrize(
    "text",
    [
        "YD202611260701",  # a waybill number that merely holds a date
        "140202198001011234",  # an id number with a birth date inside
        "2026-13-45",  # shaped like a date, but none
        "2026-11-26 is the day",
        "晋交运管大字140200001234号",
        "07:05",
    ],
)
def test_other_strings_stay_as_they_are(text):
    assert shift_dates(text, 5) == text


def test_keys_are_not_dates_to_move():
    assert shift_dates({"2026-11-26": "2026-11-26"}, 1) == {"2026-11-26": "2026-11-27"}


def test_the_shift_lands_on_today_also_across_months_and_backwards():
    assert demo_shift(date(2026, 11, 26), date(2026, 11, 26)) == 0
    assert demo_shift(date(2026, 11, 26), date(2027, 3, 1)) == 95
    assert demo_shift(date(2026, 11, 26), date(2026, 11, 20)) == -6


def test_with_weekday_windows_the_shift_is_whole_weeks_and_never_earlier_than_today():
    thursday = date(2026, 11, 26)
    for today in (date(2026, 11, 26), date(2026, 11, 30), date(2026, 12, 2), date(2026, 12, 3)):
        days = demo_shift(thursday, today, step=7)
        assert days % 7 == 0
        landed = date.fromordinal(thursday.toordinal() + days)
        assert landed.weekday() == thursday.weekday()
        assert 0 <= (landed - today).days < 7, (today, landed)
    with pytest.raises(ValueError, match="at least 1 day"):
        demo_shift(thursday, thursday, step=0)


def test_whole_days_suffice_only_when_every_window_holds_all_week():
    daily = Window(start="07:00", end="21:00")
    weekdays = Window(days=["mon", "tue", "wed", "thu", "fri"], start="07:00", end="21:00")
    assert step_days([]) == 1
    assert step_days([daily]) == 1
    assert step_days([daily, weekdays]) == 7


def test_todays_samples_give_the_designed_verdicts_on_any_day_with_the_runs_ids():
    """Verdicts of the moved samples equal those of the samples as written, whatever the day."""
    harbin = load_city(CITIES_DIR / "harbin")
    settings = harbin.rule_settings()
    written = (CITIES_DIR / "harbin" / "samples" / "morning-checkins.jsonl").read_text(encoding="utf-8").splitlines()
    designed = {}
    for n, raw in enumerate(written, start=1):
        v = judge(n, raw, settings).verdict
        assert v is not None
        designed[v.checkin_event_id] = (v.plate, v.verdict, [f.rule_id for f in v.findings])
    for now in (datetime(2026, 11, 26, 3, 0, tzinfo=harbin.tz), datetime(2031, 2, 28, 23, 59, tzinfo=harbin.tz)):
        lines, days = todays_samples(harbin, "0badcafe", now)
        assert days == (now.date() - date(2026, 11, 26)).days
        for n, raw in enumerate(lines, start=1):
            record = json.loads(raw)
            assert datetime.fromisoformat(record["occurred_at"]).date() == now.date()
            assert record["event_id"].startswith("demo-0badcafe-hrb-")
            v = judge(n, raw, settings).verdict
            assert v is not None
            original = record["event_id"].removeprefix("demo-0badcafe-")
            assert (v.plate, v.verdict, [f.rule_id for f in v.findings]) == designed[original]
