"""A vehicle's police passes at one ping (routing.md item 6): which open a zone now, and why one no longer does.

A valid pass opens its zones to its plate: wholly (no ``zone_entry``), or along its route
(leaving the route inside the zone is ``route_deviation``). A pass that has lapsed, or is
not valid yet, opens nothing; the ``zone_entry`` it no longer prevents says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from hazmat.events import Pass
from hazmat.zone_kinds import PASSABLE_KINDS

if TYPE_CHECKING:
    from hazmat.routing.zones import Zone


def opening(passes: Sequence[Pass], plate: str, zone: Zone, at_s: float) -> list[Pass]:
    """The plate's passes that open ``zone`` at that moment (never a water source, whatever a pass says)."""
    if zone.kind not in PASSABLE_KINDS:
        return []
    return [
        p
        for p in passes
        if p.plate == plate and zone.id in p.zone_ids and p.valid_from.timestamp() <= at_s < p.valid_until.timestamp()
    ]


def lapsed(passes: Sequence[Pass], plate: str, zone: Zone, at_s: float) -> tuple[str, str]:
    """Why the plate's passes for ``zone`` open nothing now, to add to a ``zone_entry`` (empty: it has none)."""
    zh, en = [], []
    for p in passes:
        if p.plate != plate or zone.id not in p.zone_ids:
            continue
        until, since = p.valid_until.timestamp(), p.valid_from.timestamp()
        if until <= at_s:
            zh.append(f"通行证 {p.pass_id} 已于 {_hhmm(p.valid_until)} 到期")
            en.append(f"pass {p.pass_id} expired at {p.valid_until.isoformat()}")
        elif at_s < since:
            zh.append(f"通行证 {p.pass_id} 自 {_hhmm(p.valid_from)} 起有效")
            en.append(f"pass {p.pass_id} is valid only from {p.valid_from.isoformat()}")
    if not en:
        return "", ""
    return f"（{'；'.join(zh)}）", f" ({'; '.join(en)})"


def _hhmm(moment: datetime) -> str:
    """The pass's own time (it carries its offset), to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")
