"""Record at build time, decide at query time: may this load use this edge, and if not, why.

The restriction modules store what the map says (``tunnel_cat``, ``hazmat_no``…); this
module turns a load (its classes, UN numbers and ADR tunnel code) into a verdict per edge,
with the reason a dispatcher reads in ``avoided`` or ``no_permitted_route``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hazmat.cityconfig import TunnelCodes
from hazmat.events import Avoided
from hazmat.zone_kinds import ZONE_KINDS

from .restrictions import ATTRS, REGISTRY, CityRoadRules, Road
from .zones import Zone

TUNNEL_ORDER = "BCDE"


def restricted(data: Mapping[str, Any]) -> bool:
    """The map restricts this edge in some way (whether it closes depends on the load)."""
    return any(data.get(attr) for attr in ATTRS)


@dataclass(frozen=True)
class Load:
    """What the router needs to know about a load."""

    classes: frozenset[str]
    un_numbers: frozenset[str]
    tunnel_code: str  # B (strictest) … E

    @classmethod
    def of(cls, items: Iterable[Any], codes: TunnelCodes) -> Load:
        """The strictest ADR tunnel code over the items: by UN number, else hazard class, else the default."""
        items = list(items)
        letters = []
        for item in items:
            code = codes.by_un.get(item.un_number) or codes.by_class.get(item.hazard_class)
            if code is None:
                code = codes.by_class.get(item.hazard_class.partition(".")[0], codes.default)
            letters.append(code)
        return cls(
            classes=frozenset(i.hazard_class for i in items),
            un_numbers=frozenset(i.un_number for i in items),
            tunnel_code=min(letters, key=TUNNEL_ORDER.index) if letters else codes.default,
        )


def static_reason(data: Mapping[str, Any], load: Load, *, rules: CityRoadRules) -> Avoided | None:
    """Why the map itself closes this edge to the load (time-independent), or ``None``.

    The first restriction of the registry that closes it gives the reason.
    """
    if not restricted(data):
        return None  # nearly every edge carries no restriction tag; this runs per edge of every route
    for r in REGISTRY:
        detail = r.closes(data.get(r.attr), load, rules)
        if detail:
            zh, en = r.reason(Road.of(data), detail, load)
            return Avoided(kind=r.kind, reason_zh=zh, reason_en=en)  # type: ignore[arg-type]
    return None


def zone_reason(zone: Zone) -> Avoided:
    """The zone as ``avoided`` or ``blocked_by`` names it: a designated area says only its roads are open."""
    label = ZONE_KINDS[zone.kind]
    when_zh = "（限行时段内）" if zone.windows is not None else ""
    when_en = " (inside its time window)" if zone.windows is not None else ""
    what_zh, what_en = label.zh, label.en
    if zone.designated:
        what_zh += "，区内仅可走规定路线"
        what_en += ": hazmat loads only on its designated roads"
    return Avoided(
        zone_id=zone.id,
        kind=zone.kind,  # type: ignore[arg-type]
        reason_zh=f"{zone.name or zone.id}：{what_zh}{when_zh}",
        reason_en=f"{zone.id}: {what_en}{when_en}",
    )
