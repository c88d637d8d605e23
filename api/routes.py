"""Dispatchers: request a permitted route and read the answer; the map's zones and road layer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request

from hazmat.cityconfig import City
from hazmat.events import RouteRequest
from hazmat.routing.zones import window_active
from hazmat.streams import names
from hazmat.zone_kinds import DESIGNATED_ROAD, ZONE_KINDS

from .deps import Dispatcher, DispatcherOrPolice, Services, Svc, decoded

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
            "derive_water_sources": city.settings.derive_water_sources,
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


def _graph_layers(city: City) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the map takes from the road graph: its roads, and the water sources mapped in OSM that the
    router and the monitor treat as zones when the city derives them (``derive_water_sources``)."""
    from hazmat.routing.graph import load
    from hazmat.routing.mapview import road_lines
    from hazmat.routing.restrictions.osm_water_sources import as_zone_features

    graph = load(city)
    derived = []
    if city.settings.derive_water_sources:
        configured = {f.properties.id for f in city.zones.features}
        features = as_zone_features(graph.graph.get("water_sources", []), city.settings.water_source_buffer_m)
        derived = [_with_state(f, datetime.now(UTC)) for f in features if f.properties.id not in configured]
    return road_lines(graph), derived


async def _from_graph(svc: Services) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The graph's layers, built or loaded once (one load at a time: two first requests wait for one)."""
    async with svc.graph_lock:
        if svc.roads is None:
            try:
                svc.roads, svc.derived_zones = await asyncio.to_thread(_graph_layers, svc.city)
            except Exception as exc:  # no graph source here: the page falls back to a plain background
                name = svc.city.settings.name_en or svc.city.settings.name
                raise HTTPException(404, f"no road graph for {name}: {exc}") from exc
    return svc.roads, svc.derived_zones or []


@router.get("/roads", tags=["map"])
async def get_roads(svc: Svc) -> dict[str, Any]:
    """The road network (major/minor polylines) for the page's base map; built or loaded once."""
    roads, _ = await _from_graph(svc)
    return roads


@router.get("/zones/derived", tags=["map"])
async def get_derived_zones(svc: Svc) -> dict[str, Any]:
    """The water sources mapped in OSM (reservoirs, protected areas of class 12) that the city's
    routes and alerts treat as ``water_source`` zones besides its own file (public, as the zones)."""
    _, derived = await _from_graph(svc)
    return {"type": "FeatureCollection", "features": derived}
