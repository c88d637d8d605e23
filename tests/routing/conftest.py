"""The Chengdu test city's road graph, built (or loaded from the cache) once per session."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest

from hazmat.cityconfig import City, ZoneFeature, load_city
from hazmat.events import RouteRequest, decode
from routing import graph as road_graph
from routing.router import Router
from tests.helpers import HERE

CHENGDU = HERE / "data" / "cities" / "chengdu"


@pytest.fixture(scope="session")
def chengdu() -> City:
    return load_city(CHENGDU)


@pytest.fixture(scope="session")
def chengdu_graph(chengdu: City) -> nx.MultiDiGraph:
    return road_graph.load(chengdu)


@pytest.fixture(scope="session")
def router(chengdu: City, chengdu_graph: nx.MultiDiGraph) -> Router:
    return Router(chengdu_graph, chengdu)


def zone(zone_id: str, lon0: float, lat0: float, lon1: float, lat1: float, **props: Any) -> ZoneFeature:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return ZoneFeature.model_validate(
        {
            "type": "Feature",
            "properties": {"id": zone_id, "kind": props.pop("kind", "restricted"), **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
    )


def request(
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    at: str = "2026-11-26T10:00:00+08:00",
    optimize: str = "time",
    un: str = "UN1005",
    hazard_class: str = "2.3",
) -> RouteRequest:
    body = {
        "schema_version": 1,
        "request_id": "r-test",
        "plate": "川A12345",
        "load": [{"un_number": un, "hazard_class": hazard_class, "quantity_kg": 1000}],
        "origin": {"lon": origin[0], "lat": origin[1]},
        "destination": {"lon": destination[0], "lat": destination[1]},
        "depart_at": at,
        "optimize": optimize,
    }
    return decode(RouteRequest, json.dumps(body, ensure_ascii=False))


@pytest.fixture
def with_zones(router: Router) -> Callable[..., Router]:
    """Swap the router's zones for the test's own; the city's come back afterwards."""
    from routing.zones import load_zones

    def use(*features: ZoneFeature) -> Router:
        router.set_zones(load_zones(router.city, router.projection, list(features)))
        return router

    yield use
    router.set_zones(load_zones(router.city, router.projection, router.city_zone_features()))
