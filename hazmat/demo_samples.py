"""The demo's sample morning moved to today: every date and time in the samples by one whole number of days.

The samples (``config/cities/<city>/samples/``) are written for one fixed morning. Played
as written, they age: a load checked in days ago is overdue the moment a worker looks
(``flow_overdue``), and certificates valid "until next month" run out. Moving *every* date
and timestamp by the same whole number of days keeps everything the rules and the monitor
compare (a document's last day against the check-in's local date, a ping's time against a
zone's daily window, the trip against its check-in) exactly as designed.

Pure functions, no clock: the caller passes today's date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from hazmat.cityconfig import ALL_DAYS, Window

#: ``YYYY-MM-DD``, optionally followed by an RFC 3339 time (``THH:MM[:SS[.f]]`` and ``Z`` or ``±HH:MM``)
_DATE_OR_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<time>[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?$"
)


def shift_dates(value: Any, days: int) -> Any:
    """A copy of the JSON value with every date and timestamp string moved by ``days`` days.

    A timestamp keeps its local time, its offset and its spelling; only the calendar date
    moves, which for a fixed UTC offset is exactly ``days`` × 24 h. Other strings (plates,
    waybill numbers that merely contain digits, id numbers) and object keys stay as they are;
    so does a string shaped like a date that is not a real one (``2026-13-45``).
    """
    if isinstance(value, str):
        return _shift_string(value, days)
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    return value


def _shift_string(text: str, days: int) -> str:
    match = _DATE_OR_TIMESTAMP.match(text)
    if match is None:
        return text
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        return text
    return (day + timedelta(days=days)).isoformat() + (match["time"] or "")


def step_days(windows: Iterable[Window]) -> int:
    """1 when every zone window holds on all seven days, else 7 (a shift must keep the weekday).

    Harbin's daytime restricted zone is open 07:00–21:00 every day, so any whole number of
    days keeps it; a city with a weekday-only window needs whole weeks.
    """
    return 1 if all(set(w.days) == set(ALL_DAYS) for w in windows) else 7


def demo_shift(sample_day: date, today: date, *, step: int = 1) -> int:
    """Days to add to the samples so their morning is today's (in the city's time zone).

    Today's morning, not "the latest morning that has begun": run at 06:59, the demo's check-ins
    lie a few minutes to hours ahead, which nothing compares with the wall clock except the
    overdue timer, and that can then never fire; yesterday's morning would put a load checked
    in at 07:05 within minutes of its 24 h ``flow_overdue`` deadline. With ``step`` 7 (weekday
    windows) the morning is the first day from today on with the samples' weekday, for the
    same reason: later is harmless, earlier can be overdue.
    """
    if step < 1:
        msg = f"step must be at least 1 day, got {step}"
        raise ValueError(msg)
    return -((sample_day - today).days // step) * step
