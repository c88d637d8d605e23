"""Shared checks for rule families: documents that expire, values on the blacklist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from hazmat.events import CheckIn, LoadItem, WaybillItem

from .catalogue import Hit, hit
from .context import RuleContext

PLAN = "实施方案 二(七)"
LOADER_CHECK = "危险货物道路运输安全管理办法 第十八条"
BLACKLIST = "实施方案（黑名单管理）"


def expired(valid_until: date, ctx: RuleContext) -> bool:
    """A document is valid through the whole of its ``valid_until`` day, in city time."""
    return valid_until < ctx.today


NO_HITS: tuple[Hit, ...] = ()


def missing_or_expired(valid_until: date | None, ctx: RuleContext, field: str | None = None) -> tuple[Hit, ...]:
    if valid_until is None:
        return (hit("missing", field),)
    if expired(valid_until, ctx):
        return (hit("expired", field, date=valid_until),)
    return NO_HITS


def total_kg(items: Iterable[LoadItem]) -> float:
    return sum(item.quantity_kg for item in items)


def quantities_by_un(items: Iterable[LoadItem | WaybillItem]) -> dict[str, float]:
    """Total kilograms per UN number (a UN number may appear on several lines)."""
    out: dict[str, float] = {}
    for item in items:
        out[item.un_number] = out.get(item.un_number, 0.0) + item.quantity_kg
    return out


def listed(value: str | None, listing: Mapping[str, str], field: str) -> tuple[Hit, ...]:
    """A hit when ``value`` is on the given blacklist mapping, with the listed reason."""
    if value is not None and value in listing:
        return (hit("listed", field, value=value, why=listing[value]),)
    return NO_HITS


def load_uns(checkin: CheckIn, wanted: frozenset[str]) -> list[str]:
    return sorted({item.un_number for item in checkin.load if item.un_number in wanted})
