"""Restrictions, one module per source of "a hazmat load may not use this road".

Each module names the OSM tags it reads (the graph builder keeps them on the edges and
never merges a tagged stretch with an untagged one) and has one ``mark`` function that
writes one edge attribute from the map data. Whether a given load may use the edge is
decided later, per request, in :mod:`routing.policy`. To add a restriction: one module,
one line in ``REGISTRY``, one test.
"""

from __future__ import annotations

from types import ModuleType

from . import osm_hazmat, osm_hazmat_class, osm_hazmat_water, osm_tunnel

REGISTRY: tuple[ModuleType, ...] = (osm_hazmat, osm_hazmat_water, osm_hazmat_class, osm_tunnel)


def osm_tags() -> list[str]:
    """Every OSM way tag a restriction reads (added to osmnx's ``useful_tags_way``)."""
    return sorted({tag for module in REGISTRY for tag in module.TAGS})


def mark_all(graph: object) -> None:
    for module in REGISTRY:
        module.mark(graph)
