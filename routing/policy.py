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

from .restrictions import osm_tunnel
from .zones import Zone, covers

TUNNEL_ORDER = "BCDE"
#: the edge attributes the restriction modules set; an edge without any of them closes to no load
RESTRICTION_TAGS = ("tunnel_cat", "hazmat_no", "hazmat_water_no", "hazmat_class_no")


def restricted(data: Mapping[str, Any]) -> bool:
    """The map restricts this edge in some way (whether it closes depends on the load)."""
    return any(data.get(tag) for tag in RESTRICTION_TAGS)


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


def static_reason(data: Mapping[str, Any], load: Load, *, untagged_tunnel_forbidden: bool) -> Avoided | None:
    """Why the map itself closes this edge to the load (time-independent), or ``None``."""
    if not restricted(data):
        return None  # nearly every edge carries no restriction tag; this runs per edge of every route
    category, class_no = data.get("tunnel_cat"), data.get("hazmat_class_no")
    closed = [c for c in class_no or () if any(covers((c,), lc) for lc in load.classes)]
    tunnel = osm_tunnel.forbids(category, load.tunnel_code, untagged_forbidden=untagged_tunnel_forbidden)
    if not (data.get("hazmat_no") or data.get("hazmat_water_no") or closed or tunnel):
        return None
    name = data.get("name")
    road = f"{name[0] if isinstance(name, list) else name}" if name else "未命名道路"
    road_en = road if name else "unnamed road"
    if data.get("hazmat_no"):
        return Avoided(
            kind="hazmat_road", reason_zh=f"{road}禁止危险货物车辆通行（hazmat=no）", reason_en=f"{road_en}: hazmat=no"
        )
    if data.get("hazmat_water_no"):
        return Avoided(
            kind="hazmat_water_road",
            reason_zh=f"{road}禁止危害水体的货物通行（hazmat:water=no）",
            reason_en=f"{road_en}: hazmat:water=no",
        )
    if closed:
        return Avoided(
            kind="hazmat_class_road",
            reason_zh=f"{road}禁止第 {closed[0]} 类危险货物通行",
            reason_en=f"{road_en}: hazmat:{closed[0]}=no",
        )
    if tunnel:
        if category == osm_tunnel.UNTAGGED:
            return Avoided(
                kind="tunnel",
                reason_zh=f"{road}为未标注危险货物类别的隧道，按本市规定禁止危险货物车辆通行",
                reason_en=f"{road_en}: tunnel without a dangerous-goods category; the city forbids these",
            )
        return Avoided(
            kind="tunnel",
            reason_zh=f"{road}为 {category} 类隧道，本车货物隧道限制代码为 {load.tunnel_code}",
            reason_en=f"{road_en}: tunnel category {category}, load tunnel code {load.tunnel_code}",
        )
    return None


def zone_reason(zone: Zone) -> Avoided:
    labels = {
        "water_source": ("饮用水水源保护区", "drinking-water source area"),
        "restricted": ("限行区域", "restricted area"),
        "closure": ("封闭区域", "closure"),
    }
    zh, en = labels[zone.kind]
    when_zh = "（限行时段内）" if zone.windows is not None else ""
    when_en = " (inside its time window)" if zone.windows is not None else ""
    return Avoided(
        zone_id=zone.id,
        kind=zone.kind,  # type: ignore[arg-type]
        reason_zh=f"{zone.name or zone.id}：{zh}{when_zh}",
        reason_en=f"{zone.id}: {en}{when_en}",
    )
