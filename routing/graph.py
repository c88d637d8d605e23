"""The road graph: built once from OpenStreetMap with osmnx, cached on disk, loaded fast.

One core for every source (a local ``.osm``/``.osm.bz2`` extract, the offline default, a
``.osm.pbf`` extract streamed by :mod:`routing.pbf` (its drivable ways only: a province), or a
place name / bbox downloaded from OpenStreetMap), as osmnx's ``graph_from_xml`` and
``graph_from_place``/``graph_from_bbox`` share ``_create_graph``. Only roads a truck may use
are kept; restriction tags stay on the edges and are never merged away by simplification;
travel times use the city's hazmat speed caps. The cache records its provenance (source,
file hash, restriction set, settings) and a cache whose provenance does not match is
rebuilt, never used. A download is a deliberate deployment step (``hazmat graph build``):
a route request or a worker never reaches for the network, it says which command to run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
from shapely.geometry import LineString

from hazmat.cityconfig import City
from hazmat.paths import cache_root

from . import pbf, restrictions
from .arrays import NetworkArrays
from .network import with_derived
from .restrictions import osm_water_sources

log = logging.getLogger("hazmat.routing.graph")

BUILDER_VERSION = 4
#: ``highway`` values a truck may drive on
DRIVABLE = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary",
        "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
        "service", "road",
    }
)  # fmt: skip
EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through", "emergency_access"})
#: default speeds (km/h) when a way has no usable ``maxspeed``; capped by the city's hazmat limits
DEFAULT_KMH = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 60, "primary_link": 40,
    "secondary": 50, "secondary_link": 40, "tertiary": 40, "tertiary_link": 30, "unclassified": 30,
    "residential": 30, "living_street": 10, "service": 15, "road": 30,
}  # fmt: skip
FAST_ROADS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
#: Overpass QL for a download: drivable highways only (``truck_usable`` then decides per way, as for a file)
OVERPASS_FILTER = f'["highway"~"^({"|".join(sorted(DRIVABLE))})$"]'
EXTRA_TAGS = ("hgv", "goods", "motor_vehicle", "motorcar", "access", "maxspeed", "service", "name", "ref")


class GraphSourceError(ValueError):
    """The city's graph source cannot be read; the message says what to change."""


def edge_geometry(graph: nx.MultiDiGraph, u: Any, v: Any, data: dict[str, Any]) -> LineString:
    """An edge's lon/lat line: its geometry, or the straight line between its nodes (osmnx leaves it out then)."""
    geom = data.get("geometry")
    if geom is not None:
        return geom
    return LineString([(graph.nodes[u]["x"], graph.nodes[u]["y"]), (graph.nodes[v]["x"], graph.nodes[v]["y"])])


def first_value(value: Any) -> Any:
    """osmnx keeps a list when merged ways differ; the first entry stands for the edge."""
    return value[0] if isinstance(value, list) else value


def truck_usable(data: dict[str, Any]) -> bool:
    """Drivable highway, not closed to trucks (``hgv=no`` …), not private unless goods may use it."""
    highway = first_value(data.get("highway"))
    if highway not in DRIVABLE:
        return False
    if highway == "service" and first_value(data.get("service")) in EXCLUDED_SERVICE:
        return False
    truck_ok = first_value(data.get("hgv")) in ("yes", "designated", "destination") or first_value(
        data.get("goods")
    ) in (
        "yes",
        "designated",
        "destination",
    )
    if first_value(data.get("hgv")) == "no" or first_value(data.get("motor_vehicle")) == "no":
        return False
    return not (first_value(data.get("access")) in ("no", "private") and not truck_ok)


def _speed_kmh(data: dict[str, Any], caps: tuple[float, float]) -> float:
    highway = first_value(data.get("highway"))
    speed = None
    raw = first_value(data.get("maxspeed"))
    if isinstance(raw, str):
        digits = raw.split()[0].split(";")[0]
        try:
            speed = float(digits) * (1.609 if "mph" in raw else 1.0)
        except ValueError:
            speed = None
    if speed is None or speed <= 0:
        speed = float(DEFAULT_KMH.get(highway, 30))
    cap = caps[0] if highway in FAST_ROADS else caps[1]
    return min(speed, cap)


def online(city: City) -> bool:
    """The graph is downloaded (place name or bbox), not read from a file."""
    return city.settings.graph.source != "file"


def _describe(city: City) -> str:
    source = city.settings.graph
    return source.place if source.source == "place" else f"bbox {list(source.bbox or ())}"  # type: ignore[return-value]


def source_path(city: City) -> Path:
    source = city.settings.graph
    if source.source != "file" or source.file is None:
        msg = f"{city.folder / 'city.yaml'}: graph.source is '{source.source}', not a local extract (graph.file)"
        raise GraphSourceError(msg)
    path = (city.folder / source.file).resolve()
    if not path.is_file():
        msg = f"{city.folder / 'city.yaml'}: graph.file: {path} does not exist"
        raise GraphSourceError(msg)
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance(city: City) -> dict[str, Any]:
    settings = {
        "caps": city.settings.speed_caps_kmh.model_dump(),
        "drivable": sorted(DRIVABLE),
        "excluded_service": sorted(EXCLUDED_SERVICE),
        "default_kmh": DEFAULT_KMH,
    }
    if online(city):
        source = {"source": f"{city.settings.graph.source}:{_describe(city)}", "source_sha256": None}
    else:
        path = source_path(city)
        source = {"source": path.name, "source_sha256": _sha256(path)}
    return {
        "builder_version": BUILDER_VERSION,
        **source,
        "restrictions": [*restrictions.KINDS, osm_water_sources.NAME],
        "settings_sha256": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
    }


def configure_osmnx() -> None:
    """The one place osmnx's global settings are set (tags kept on edges, no network, quiet)."""
    import osmnx as ox

    tags = set(ox.settings.useful_tags_way) | set(restrictions.osm_tags()) | set(EXTRA_TAGS)
    ox.settings.useful_tags_way = sorted(tags)
    ox.settings.log_console = False
    ox.settings.use_cache = False


def _read(city: City, step: Callable[[str, float], None]) -> tuple[nx.MultiDiGraph, Callable[[], list[dict[str, Any]]]]:
    """The raw (unsimplified) graph of the city's source, and how to get its water sources."""
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError
    from requests import RequestException

    source = city.settings.graph
    if source.source == "file":
        path = source_path(city)
        if pbf.is_pbf(path):  # the drivable ways and their nodes only, streamed (a province's extract)
            step("reading the drivable ways of the PBF extract", 0.05)
            return pbf.graph(path, DRIVABLE), lambda: osm_water_sources.extract_pbf(path)
        step("reading OSM extract", 0.05)
        graph = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
        return graph, lambda: osm_water_sources.extract(path)

    def downloaded(what: str, fetch: Callable[[], Any]) -> Any:
        try:
            return fetch()
        # no network, Nominatim finds nothing or no area (osmnx raises TypeError/ValueError), Overpass returns nothing
        except (RequestException, InsufficientResponseError, TypeError, ValueError) as exc:
            msg = (
                f"{city.folder / 'city.yaml'}: could not download the {what} of {_describe(city)} from OpenStreetMap "
                f"({type(exc).__name__}: {exc}). Run `hazmat graph build` where Nominatim and Overpass are "
                "reachable, check graph.place (a name Nominatim finds as an area), or give graph.file (a local extract)"
            )
            raise GraphSourceError(msg) from exc

    options = {"custom_filter": OVERPASS_FILTER, "simplify": False, "retain_all": True, "truncate_by_edge": True}
    step(f"downloading roads of {_describe(city)} from OpenStreetMap", 0.05)
    if source.source == "place":
        graph = downloaded("roads", lambda: ox.graph_from_place(source.place, **options))
        return graph, lambda: downloaded("water sources", lambda: osm_water_sources.download_place(source.place))
    graph = downloaded("roads", lambda: ox.graph_from_bbox(source.bbox, **options))
    return graph, lambda: downloaded("water sources", lambda: osm_water_sources.download_bbox(source.bbox))


def build(city: City, *, progress: Callable[[str, float], None] | None = None) -> nx.MultiDiGraph:
    """Build the city's truck road graph from its source (about 20 s for the central Harbin extract)."""
    import osmnx as ox

    step = progress or (lambda _label, _fraction: None)
    configure_osmnx()
    started = time.monotonic()
    graph, water_sources = _read(city, step)
    step("keeping truck-usable roads", 0.45)
    drop = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not truck_usable(d)]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    step("simplifying (restriction tags kept apart)", 0.6)
    graph = ox.simplify_graph(graph, edge_attrs_differ=[*restrictions.osm_tags(), "highway", "maxspeed"])
    step("largest strongly connected component", 0.8)
    largest = max(nx.strongly_connected_components(graph), key=len)
    graph = graph.subgraph(largest).copy()
    step("speeds, travel times, restrictions", 0.9)
    caps = (city.settings.speed_caps_kmh.motorway, city.settings.speed_caps_kmh.default)
    for _, _, data in graph.edges(data=True):
        kmh = _speed_kmh(data, caps)
        data["speed_kph"] = kmh
        data["travel_time"] = float(data["length"]) / (kmh / 3.6)
    restrictions.mark_all(graph.edges(data=True))
    step("water sources mapped in OSM", 0.95)
    graph.graph["water_sources"] = water_sources()
    graph.graph["provenance"] = provenance(city)
    graph.graph["city"] = city.folder.name
    log.info(
        "graph built",
        extra={
            "city": city.folder.name,
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    step("done", 1.0)
    return graph


def cache_path(city: City, expected: dict[str, Any] | None = None) -> Path:
    """Named by the folder and its provenance: two folders of one name but other sources or settings
    never overwrite each other's graph, and copies of one city share it."""
    digest = hashlib.sha256(json.dumps(expected or provenance(city), sort_keys=True).encode()).hexdigest()[:12]
    return cache_root() / "graphs" / f"{city.folder.name}-{digest}.pickle"


def load(
    city: City,
    *,
    rebuild: bool = False,
    download: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> nx.MultiDiGraph:
    """The cached graph when its provenance matches the city's source and settings, else a fresh build.

    A city whose graph is downloaded is built only with ``download=True`` (``hazmat graph
    build``); otherwise a missing cache is an error that names the command to run.
    """
    expected = provenance(city)
    path = cache_path(city, expected)
    if not rebuild and path.is_file():
        try:
            with path.open("rb") as f:
                graph = pickle.load(f)
            if graph.graph.get("provenance") == expected:
                return graph
            log.info("graph cache is stale; rebuilding", extra={"cache": str(path)})
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            log.warning("graph cache unreadable; rebuilding", extra={"cache": str(path), "error": str(exc)})
    if online(city) and not download:
        msg = (
            f"{city.folder / 'city.yaml'}: graph.source is '{city.settings.graph.source}' ({_describe(city)}) and no road "
            f"graph is cached at {path}: run `hazmat graph build --config {city.folder}` once where OpenStreetMap is "
            "reachable (it downloads and caches the graph), or give graph.file (a local extract)"
        )
        raise GraphSourceError(msg)
    graph = build(city, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(graph, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    with_derived(NetworkArrays.from_graph(graph)).save(arrays_path(path))
    return graph


def arrays_path(graph_path: Path) -> Path:
    """The road network's arrays beside the pickled graph (same name, ``.npz``)."""
    return graph_path.with_suffix(".npz")


def load_network(
    city: City,
    *,
    download: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> NetworkArrays:
    """The road network's arrays (what a worker's router needs), without the networkx graph when they are cached.

    Written by :func:`load` beside the graph (``hazmat graph build``); a graph cached before
    the arrays existed has them made from it once. Same provenance check as :func:`load`.
    """
    expected = provenance(city)
    path = arrays_path(cache_path(city, expected))
    if path.is_file():
        try:
            arrays = NetworkArrays.load(path)
            if arrays.graph_attrs.get("provenance") == expected:
                return arrays
            log.info("road network arrays are stale; rebuilding", extra={"cache": str(path)})
        except (OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError) as exc:
            log.warning("road network arrays unreadable; rebuilding", extra={"cache": str(path), "error": str(exc)})
    graph = load(city, download=download, progress=progress)
    arrays = with_derived(NetworkArrays.from_graph(graph))
    arrays.save(path)
    return arrays
