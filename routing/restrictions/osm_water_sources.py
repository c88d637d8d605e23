"""Drinking-water sources mapped in OSM, as zones: reservoirs and protected areas of class 12.

``landuse=reservoir``, ``water=reservoir`` and ``boundary=protected_area`` with
``protect_class=12`` (water protection) become ``water_source`` zones with the id
``osm-<type>-<id>`` and the city's ``water_source_buffer_m``, when the city enables
``derive_water_sources``. They are areas, not way tags, so they are read once at graph build
time and kept in the graph's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapely.geometry import mapping

NAME = "osm_water_sources"
QUERY = {"landuse": "reservoir", "water": "reservoir", "boundary": "protected_area"}


def _value(row: Any, key: str) -> Any:
    value = row.get(key) if hasattr(row, "get") else None
    return None if value != value else value  # NaN from pandas is "absent"


def is_water_source(row: Any) -> bool:
    if _value(row, "landuse") == "reservoir" or _value(row, "water") == "reservoir":
        return True
    return _value(row, "boundary") == "protected_area" and str(_value(row, "protect_class")) == "12"


def extract(path: Path) -> list[dict[str, Any]]:
    """The water-source polygons of an OSM XML extract, as GeoJSON-like dicts."""
    import osmnx as ox

    return _from_features(lambda: ox.features_from_xml(path, tags=QUERY))


def extract_pbf(path: Path) -> list[dict[str, Any]]:
    """The water-source polygons of an OSM PBF extract (closed ways and multipolygon relations, assembled by
    libosmium), as :func:`extract` gives them for XML."""
    import osmium
    import shapely

    keys = osmium.filter.KeyFilter(*QUERY)
    factory = osmium.geom.WKBFactory()
    out = []
    for area in (
        osmium.FileProcessor(str(path)).with_areas(keys).with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    ):
        tags = {t.k: t.v for t in area.tags}
        if not is_water_source(tags):
            continue
        try:
            geom = shapely.from_wkb(factory.create_multipolygon(area))
        except RuntimeError:  # an unclosed ring (a clipped extract): no area to protect here
            continue
        if len(geom.geoms) == 1:
            geom = geom.geoms[0]
        element = "way" if area.from_way() else "relation"
        name = tags.get("name")
        out.append({"id": f"osm-{element}-{area.orig_id()}", "name": name or "", "geometry": mapping(geom)})
    return out


def download_place(place: str) -> list[dict[str, Any]]:
    """The water-source polygons of a place, from OpenStreetMap (Overpass)."""
    import osmnx as ox

    return _from_features(lambda: ox.features_from_place(place, tags=QUERY))


def download_bbox(bbox: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """The water-source polygons within west, south, east, north, from OpenStreetMap (Overpass)."""
    import osmnx as ox

    return _from_features(lambda: ox.features_from_bbox(bbox, tags=QUERY))


def _from_features(fetch: Callable[[], Any]) -> list[dict[str, Any]]:
    from osmnx._errors import InsufficientResponseError

    try:
        gdf = fetch()
    except InsufficientResponseError:  # osmnx's way of saying "none here"
        return []
    out = []
    for (element, osm_id), row in gdf.iterrows():
        geom = row.geometry
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not is_water_source(row):
            continue
        name = _value(row, "name")
        out.append({"id": f"osm-{element}-{osm_id}", "name": str(name) if name else "", "geometry": mapping(geom)})
    return out


def as_zone_features(items: list[dict[str, Any]], buffer_m: float) -> list[Any]:
    from hazmat.cityconfig import ZoneFeature

    return [
        ZoneFeature.model_validate(
            {
                "type": "Feature",
                "properties": {
                    "id": item["id"],
                    "name": item["name"] or "OSM 水库/水源保护区",
                    "kind": "water_source",
                    "buffer_m": buffer_m,
                    "source": "OpenStreetMap (derived)",
                },
                "geometry": _lists(item["geometry"]),
            }
        )
        for item in items
    ]


def _lists(geometry: dict[str, Any]) -> dict[str, Any]:
    def conv(x: Any) -> Any:
        return [conv(v) for v in x] if isinstance(x, list | tuple) and x and isinstance(x[0], list | tuple) else list(x)

    return {"type": geometry["type"], "coordinates": conv(geometry["coordinates"])}
