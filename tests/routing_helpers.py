"""Helpers for tests on the Chengdu test city: zones and route requests built in one line."""

from __future__ import annotations

import json
from typing import Any

from hazmat.cityconfig import RoadFeature, ZoneFeature
from hazmat.events import RouteRequest, decode
from tests.helpers import HERE

CHENGDU = HERE / "data" / "cities" / "chengdu"


def zone(zone_id: str, lon0: float, lat0: float, lon1: float, lat1: float, **props: Any) -> ZoneFeature:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return ZoneFeature.model_validate(
        {
            "type": "Feature",
            "properties": {"id": zone_id, "kind": props.pop("kind", "restricted"), **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
    )


def road(road_id: str, area_id: str, lines: list[list[tuple[float, float]]], **props: Any) -> RoadFeature:
    """A designated road of ``area_id``: one or more lines of lon/lat points."""
    geometry = (
        {"type": "LineString", "coordinates": [list(p) for p in lines[0]]}
        if len(lines) == 1
        else {"type": "MultiLineString", "coordinates": [[list(p) for p in line] for line in lines]}
    )
    return RoadFeature.model_validate(
        {
            "type": "Feature",
            "properties": {"id": road_id, "kind": "designated_road", "area": area_id, **props},
            "geometry": geometry,
        }
    )


def box_zone(zone_id: str, center: tuple[float, float], half: float, **props: Any) -> ZoneFeature:
    """A square zone ``half`` degrees each way around ``center`` (the tests' usual shape)."""
    lon, lat = center[0], center[1]
    return zone(zone_id, lon - half, lat - half, lon + half, lat + half, **props)


def request(
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    at: str = "2026-11-26T10:00:00+08:00",
    optimize: str = "time",
    un: str = "UN1005",
    hazard_class: str = "2.3",
    plate: str = "川A12345",
) -> RouteRequest:
    body = {
        "schema_version": 1,
        "request_id": "r-test",
        "plate": plate,
        "load": [{"un_number": un, "hazard_class": hazard_class, "quantity_kg": 1000}],
        "origin": {"lon": origin[0], "lat": origin[1]},
        "destination": {"lon": destination[0], "lat": destination[1]},
        "depart_at": at,
        "optimize": optimize,
    }
    return decode(RouteRequest, json.dumps(body, ensure_ascii=False))
