"""The route event's refusals, worded once: outside the map, and no permitted route (events.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hazmat.events import Avoided, Route, RouteRequest


def base(request: RouteRequest) -> dict[str, Any]:
    """The fields every answer to this request carries."""
    return {"route_id": f"rt-{request.request_id}", "request_id": request.request_id, "plate": request.plate}


def outside_map(base: dict[str, Any], end: str, max_snap_m: float) -> Route:
    """``end`` (origin or destination) is farther than ``max_snap_m`` from every road."""
    end_zh = "起点" if end == "origin" else "终点"
    return Route(
        **base,
        status="outside_map",
        reason_zh=f"{end_zh}距最近道路超过 {max_snap_m:.0f} 米，不在本市路网范围内",
        reason_en=f"the {end} is more than {max_snap_m:.0f} m from any road of the city's map",
    )


def no_permitted_route(base: dict[str, Any], blocked_by: list[Avoided], earliest: datetime | None) -> Route:
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
    )
