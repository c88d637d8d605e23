"""Dispatchers: request a permitted route and read the answer; the map's zones and road layer."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request

from hazmat.cityconfig import City
from hazmat.events import RouteRequest
from hazmat.routing.zones import window_active
from hazmat.streams import names
from hazmat.zone_kinds import DESIGNATED_ROAD, ZONE_KINDS

from .deps import Dispatcher, DispatcherOrPolice, Svc, decoded

router = APIRouter(prefix="/v1", tags=["routes"])


@router.post("/route-requests", status_code=202)
async def post_route_request(request: Request, _: Dispatcher, svc: Svc) -> dict[str, str]:
    req, raw = await decoded(request, RouteRequest)
    await svc.produce(names.ROUTE_REQUESTS, req.plate, raw)
    return {"request_id": req.request_id, "route": f"/v1/routes/{req.request_id}"}


@router.get("/routes/{request_id}")
async def get_route(
    request_id: str, _: DispatcherOrPolice, svc: Svc, wait: Annotated[float, Query(ge=0, le=30)] = 0
) -> Any:
    route = await svc.feed.route(request_id, wait)
    if route is None:
        raise HTTPException(404, f"no route for {request_id} yet")
    return route


@router.get("/zones", tags=["map"])
async def get_zones(svc: Svc) -> dict[str, Any]:
    """The city's zones as GeoJSON (public: the restrictions are published anyway)."""
    city = svc.city
    local = datetime.now(ZoneInfo(city.settings.timezone))
    return {
        "type": "FeatureCollection",
        "features": [_with_state(f, local) for f in city.zones.features],
        "kinds": {
            k.name: {"zh": k.zh, "en": k.en, "colour": k.colour} for k in (*ZONE_KINDS.values(), DESIGNATED_ROAD)
        },
        "city": {
            "name": city.settings.name,
            "name_en": city.settings.name_en,
            "timezone": city.settings.timezone,
            "tiles": None
            if city.settings.map_tiles_url is None
            else {"url": city.settings.map_tiles_url, "attribution": city.settings.map_tiles_attribution},
        },
    }


def _with_state(feature: Any, local: datetime) -> dict[str, Any]:
    """The feature as GeoJSON, a zone with ``active``: in force now, in the city's local time (the map
    greys the others); a designated road has no windows and stays as it is."""
    data = feature.model_dump(mode="json")
    props = feature.properties
    if props.kind in ZONE_KINDS:
        data["properties"]["active"] = props.windows is None or any(window_active(w, local) for w in props.windows)
    return data


def _roads(city: City) -> dict[str, Any]:
    from hazmat.routing.graph import load
    from hazmat.routing.mapview import road_lines

    return road_lines(load(city))


@router.get("/roads", tags=["map"])
async def get_roads(svc: Svc) -> dict[str, Any]:
    """The road network (major/minor polylines) for the page's base map; built or loaded once."""
    if svc.roads is None:
        try:
            svc.roads = await asyncio.to_thread(_roads, svc.city)
        except Exception as exc:  # no graph source here: the page falls back to a plain background
            name = svc.city.settings.name_en or svc.city.settings.name
            raise HTTPException(404, f"no road graph for {name}: {exc}") from exc
    return svc.roads
