"""Tunnel categories A–E for dangerous goods (ADR 1.9.5), from the map.

Precedence, in this order: ``hazmat:adr_tunnel_cat``, then ``hazmat:tunnel_cat``, then
``hazmat=no`` on a tunnel (category E). A value outside A–E is ignored, never guessed. A
``tunnel=yes`` with none of these is recorded as ``untagged``; the city's
``untagged_tunnel_policy`` decides what that means (default: forbidden to hazmat loads).
Not a tunnel: ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .base import CityRoadRules, LoadLike, Road, RoadRestriction

UNTAGGED = "untagged"


class TunnelCategory(StrEnum):
    """A: no restriction … E: the strictest (only a few goods may pass)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


def _is_tunnel(value: object) -> bool:
    return value not in (None, "", "no") and value == value  # NaN from osmnx is not a tunnel


def parse(tags: Mapping[str, object]) -> str | None:
    if not _is_tunnel(tags.get("tunnel")):
        return None
    for key in ("hazmat:adr_tunnel_cat", "hazmat:tunnel_cat"):
        value = tags.get(key)
        if isinstance(value, str) and value.upper() in TunnelCategory.__members__:
            return TunnelCategory(value.upper()).value
    if tags.get("hazmat") == "no":
        return TunnelCategory.E.value
    return UNTAGGED


def forbids(category: str | None, tunnel_code: str, *, untagged_forbidden: bool) -> bool:
    """A load with tunnel restriction code X may not enter tunnels of category X or above."""
    if category is None:
        return False
    if category == UNTAGGED:
        return untagged_forbidden
    return category >= tunnel_code


def _reason(road: Road, category: str, load: LoadLike) -> tuple[str, str]:
    if category == UNTAGGED:
        return (
            f"{road.zh}为未标注危险货物类别的隧道，按本市规定禁止危险货物车辆通行",
            f"{road.en}: tunnel without a dangerous-goods category; the city forbids these",
        )
    return (
        f"{road.zh}为 {category} 类隧道，本车货物隧道限制代码为 {load.tunnel_code}",
        f"{road.en}: tunnel category {category}, load tunnel code {load.tunnel_code}",
    )


def _closes(category: str | None, load: LoadLike, rules: CityRoadRules) -> str | None:
    """The tunnel's category when it is closed to this load."""
    forbidden = forbids(category, load.tunnel_code, untagged_forbidden=rules.untagged_tunnel_forbidden)
    return category if forbidden else None


RESTRICTION = RoadRestriction(
    kind="tunnel",
    tags=("tunnel", "hazmat:adr_tunnel_cat", "hazmat:tunnel_cat", "hazmat"),
    attr="tunnel_cat",
    parse=parse,
    closes=_closes,
    reason=_reason,
)
