"""Dispatchers: request a permitted route and read the answer; the map's zones and road layer."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from hazmat.cityconfig import City
from hazmat.events import RouteRequest
from hazmat.streams import names

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
    return {
        "type": "FeatureCollection",
        "features": [f.model_dump(mode="json") for f in city.zones.features],
        "city": {
            "name": city.settings.name,
            "name_en": city.settings.name_en,
            "tiles": None
            if city.settings.map_tiles_url is None
            else {"url": city.settings.map_tiles_url, "attribution": city.settings.map_tiles_attribution},
        },
    }


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
