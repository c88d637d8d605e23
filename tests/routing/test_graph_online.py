"""Graphs of cities without a bundled extract: downloaded by `hazmat graph build`, never implicitly.

No network reaches OpenStreetMap here, so osmnx's two download calls are replaced by the
same data read from the Chengdu extract with osmnx's own XML reader; everything after the
download (truck filter, simplification, tags, travel times, water sources, cache) is ours
and runs for real, and must give the graph the file source gives.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox
import pytest
import requests

from hazmat.cityconfig import City, load_city
from hazmat.routing import graph as road_graph
from tests.routing_helpers import CHENGDU

EXTRACT = CHENGDU.parent.parent / "osm" / "chengdu_center_osmnx.osm.bz2"
PLACE = "锦江区, 成都市, 四川省, 中国"


def _online_city(tmp_path: Path, graph_yaml: str) -> City:
    folder = tmp_path / "chengdu-online"
    shutil.copytree(CHENGDU, folder)
    text = (folder / "city.yaml").read_text(encoding="utf-8")
    old = "graph:\n  source: file\n  file: ../../osm/chengdu_center_osmnx.osm.bz2\n"
    assert old in text
    (folder / "city.yaml").write_text(text.replace(old, graph_yaml), encoding="utf-8")
    return load_city(folder)


@pytest.fixture
def overpass(monkeypatch, tmp_path) -> list[tuple[str, Any, dict[str, Any]]]:
    """osmnx's downloads answered from the extract; each call recorded as (function, query, options)."""
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def graph(name: str):
        def fetch(query: Any, **options: Any) -> nx.MultiDiGraph:
            calls.append((name, query, options))
            return ox.graph_from_xml(EXTRACT, bidirectional=False, simplify=False, retain_all=True)

        return fetch

    def features(name: str):
        def fetch(query: Any, tags: dict[str, Any]) -> Any:
            calls.append((name, query, {"tags": tags}))
            return ox.features_from_xml(EXTRACT, tags=tags)

        return fetch

    monkeypatch.setattr(ox, "graph_from_place", graph("graph_from_place"))
    monkeypatch.setattr(ox, "graph_from_bbox", graph("graph_from_bbox"))
    monkeypatch.setattr(ox, "features_from_place", features("features_from_place"))
    monkeypatch.setattr(ox, "features_from_bbox", features("features_from_bbox"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return calls


def _same_graph(built: nx.MultiDiGraph, reference: nx.MultiDiGraph) -> None:
    assert built.number_of_nodes() == reference.number_of_nodes()
    assert built.number_of_edges() == reference.number_of_edges()
    for key in ("tunnel_cat", "hazmat_no", "hazmat_class_no"):
        ours = sum(1 for *_, d in built.edges(data=True) if d.get(key))
        theirs = sum(1 for *_, d in reference.edges(data=True) if d.get(key))
        assert ours == theirs, key
    assert sum(d["travel_time"] for *_, d in built.edges(data=True)) == pytest.approx(
        sum(d["travel_time"] for *_, d in reference.edges(data=True))
    )


def test_a_place_is_built_only_by_graph_build_and_then_served_from_the_cache(tmp_path, overpass, chengdu_graph):
    city = _online_city(tmp_path, f"graph:\n  source: place\n  place: {PLACE}\n")
    with pytest.raises(road_graph.GraphSourceError, match=r"hazmat graph build --config .*chengdu-online"):
        road_graph.load(city)
    assert overpass == []  # a route request or a worker never downloads

    steps: list[str] = []
    built = road_graph.load(city, download=True, progress=lambda label, _f: steps.append(label))
    _same_graph(built, chengdu_graph)
    assert any("downloading roads of " + PLACE in s for s in steps)
    (name, query, options), (water_call, water_query, water_options) = overpass
    assert (name, query) == ("graph_from_place", PLACE)
    assert options["custom_filter"] == road_graph.OVERPASS_FILTER
    assert "motorway" in options["custom_filter"]
    assert "footway" not in options["custom_filter"]
    assert options["simplify"] is False
    assert options["retain_all"] is True
    assert (water_call, water_query) == ("features_from_place", PLACE)
    assert water_options["tags"]["landuse"] == "reservoir"
    assert built.graph["provenance"]["source"] == f"place:{PLACE}"

    again = road_graph.load(city)  # the cache, no second download
    assert len(overpass) == 2
    assert again.number_of_edges() == built.number_of_edges()


def test_a_bbox_is_downloaded_as_west_south_east_north(tmp_path, overpass, chengdu_graph):
    bbox = (104.05, 30.63, 104.1, 30.68)
    city = _online_city(tmp_path, f"graph:\n  source: bbox\n  bbox: {list(bbox)}\n")
    _same_graph(road_graph.load(city, download=True), chengdu_graph)
    assert [(name, tuple(query)) for name, query, _ in overpass] == [
        ("graph_from_bbox", bbox),
        ("features_from_bbox", bbox),
    ]


def test_no_network_is_an_error_that_says_what_to_do(tmp_path, monkeypatch):
    def offline(*_args: Any, **_kwargs: Any) -> None:
        raise requests.ConnectionError("Failed to resolve 'nominatim.openstreetmap.org'")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    city = _online_city(tmp_path, f"graph:\n  source: place\n  place: {PLACE}\n")
    with pytest.raises(road_graph.GraphSourceError) as caught:
        road_graph.load(city, download=True)
    message = str(caught.value)
    assert f"could not download the roads of {PLACE}" in message
    assert "ConnectionError" in message
    assert "graph.file" in message
    assert "city.yaml" in message
    assert not road_graph.cache_path(city).exists()


def test_a_failed_water_source_download_is_an_error_too(tmp_path, overpass, monkeypatch):
    def offline(*_args: Any, **_kwargs: Any) -> None:
        raise requests.ReadTimeout("overpass-api.de read timed out")

    monkeypatch.setattr(ox, "features_from_place", offline)
    city = _online_city(tmp_path, f"graph:\n  source: place\n  place: {PLACE}\n")
    with pytest.raises(road_graph.GraphSourceError, match=f"could not download the water sources of {PLACE}"):
        road_graph.load(city, download=True)
    assert not road_graph.cache_path(city).exists()  # nothing half-built is cached
