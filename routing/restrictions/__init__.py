"""Road restrictions, one module per OSM concern, each declaring one :class:`RoadRestriction`.

A module names the OSM tags it reads (the graph builder keeps them on the edges and never
merges a tagged stretch with an untagged one), parses them into one edge attribute, says when
that closes the road to a load and how the reason reads. Everything else reads ``REGISTRY``:
the graph build (tags kept, one pass marking every edge), the policy (closed or not, and why)
and the route event's ``Avoided.kind``. To add a restriction: one module, one line here, one
test. (``osm_water_sources`` is not a road tag: it derives zones from mapped areas.)
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from . import osm_hazmat, osm_hazmat_class, osm_hazmat_water, osm_tunnel
from .base import CityRoadRules, Road, RoadRestriction

#: in the order their reasons take precedence when several close the same road
REGISTRY: tuple[RoadRestriction, ...] = (
    osm_hazmat.RESTRICTION,
    osm_hazmat_water.RESTRICTION,
    osm_hazmat_class.RESTRICTION,
    osm_tunnel.RESTRICTION,
)
KINDS: tuple[str, ...] = tuple(r.kind for r in REGISTRY)
#: the edge attributes the restrictions write; an edge without any of them closes to no load
ATTRS: tuple[str, ...] = tuple(r.attr for r in REGISTRY)

__all__ = ["ATTRS", "KINDS", "REGISTRY", "CityRoadRules", "Road", "RoadRestriction", "mark_all", "osm_tags"]


def osm_tags() -> list[str]:
    """Every OSM way tag a restriction reads (added to osmnx's ``useful_tags_way``)."""
    return sorted({tag for r in REGISTRY for tag in r.tags})


def mark_all(edges: Iterable[tuple[Any, Any, MutableMapping[str, Any]]]) -> None:
    """Write every restriction's attribute on every edge, in one pass (``graph.edges(data=True)``)."""
    for _, _, data in edges:
        for r in REGISTRY:
            data[r.attr] = r.parse(data)
