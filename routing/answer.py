"""The route event's refusals, worded once: outside the map, no road nearby, and no permitted route (events.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hazmat.events import Avoided, Route, RouteRequest

_ZH = {"origin": "起点", "destination": "终点"}


def base(request: RouteRequest) -> dict[str, Any]:
    """The fields every answer to this request carries."""
    return {"route_id": f"rt-{request.request_id}", "request_id": request.request_id, "plate": request.plate}


def outside_map(base: dict[str, Any], ends: list[str], max_snap_m: float) -> Route:
    """``ends`` (origin, destination or both) lie beyond the map's area by more than ``max_snap_m``."""
    return Route(
        **base,
        status="outside_map",
        reason_zh="、".join(_ZH[e] for e in ends) + f"不在本市路网范围内（距路网超过 {max_snap_m:.0f} 米）",
        reason_en=" and ".join(f"the {e}" for e in ends)
        + f" {'is' if len(ends) == 1 else 'are'} outside the city's map (more than {max_snap_m:.0f} m beyond its roads)",
    )


def no_road_nearby(
    base: dict[str, Any], far: dict[str, float | None], max_snap_m: float, snaps: dict[str, float | None]
) -> Route:
    """The ends in ``far`` are farther than ``max_snap_m`` from every road the load may use (``None``: no such road)."""
    zh, en = [], []
    for end, distance in far.items():
        if distance is None:
            zh.append(f"{_ZH[end]}附近没有该货物可通行的道路")
            en.append(f"no road of the map is open to this load near the {end}")
        else:
            zh.append(f"{_ZH[end]}距最近可通行道路 {distance:.0f} 米")
            en.append(f"the {end} is {distance:.0f} m from the nearest road this load may use")
    return Route(
        **base,
        status="no_road_nearby",
        reason_zh="；".join(zh) + f"（上限 {max_snap_m:.0f} 米）",
        reason_en="; ".join(en) + f" (limit {max_snap_m:.0f} m)",
        origin_snap_m=snaps["origin"],
        destination_snap_m=snaps["destination"],
    )


def no_permitted_route(
    base: dict[str, Any], blocked_by: list[Avoided], earliest: datetime | None, snaps: dict[str, float | None]
) -> Route:
    """What blocks every route (or that no road connects the ends), and the earliest departure that works."""
    names_zh = "；".join(b.reason_zh for b in blocked_by) or "起终点之间没有道路连通"
    names_en = "; ".join(b.reason_en for b in blocked_by) or "no road connects origin and destination"
    return Route(
        **base,
        status="no_permitted_route",
        blocked_by=blocked_by,
        reason_zh=f"无可行路线：{names_zh}",
        reason_en=f"no permitted route: {names_en}",
        earliest_departure_at=earliest,
        origin_snap_m=snaps["origin"],
        destination_snap_m=snaps["destination"],
    )
