"""Reading an OSM PBF extract for the graph build: the drivable ways and their nodes only (issue #18).

osmnx reads OSM XML whole: every node and way of the file (buildings, land use …) becomes a
Python dict and then a graph edge, before the build keeps the truck roads. At province scale
that is tens of millions of objects for a file of which the roads are a small part. This
reader streams the PBF with pyosmium (libosmium) twice, the ways first (only those whose
``highway`` is drivable, with the way tags osmnx keeps) and then only the nodes they use, and
hands them to osmnx's own graph constructor, so that everything after (lengths, one-way
handling, simplification, the truck filter) is the same code as for XML: the graph equals the
XML build of the same data (``tests/routing/test_pbf.py``).

A clipped extract references nodes outside its box that it does not hold; those references are
dropped and ways left with fewer than two nodes are dropped, as ``osmconvert --drop-broken-refs``
does (and as the bundled XML files were made).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx

log = logging.getLogger("hazmat.routing.pbf")


def is_pbf(path: Path) -> bool:
    return path.name.endswith(".pbf")


def elements(path: Path, drivable: Iterable[str], way_tags: Iterable[str], node_tags: Iterable[str]) -> dict[str, Any]:
    """The drivable ways of the file and the nodes they use, as an Overpass-style response (what osmnx parses)."""
    import osmium

    drivable, way_keep, node_keep = frozenset(drivable), frozenset(way_tags), frozenset(node_tags)
    ways: list[dict[str, Any]] = []
    used: set[int] = set()
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        if way.tags.get("highway") not in drivable:
            continue
        refs = [n.ref for n in way.nodes]
        used.update(refs)
        ways.append(
            {"type": "way", "id": way.id, "nodes": refs, "tags": {t.k: t.v for t in way.tags if t.k in way_keep}}
        )
    nodes: list[dict[str, Any]] = []
    found: set[int] = set()
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.id not in used or not node.location.valid():
            continue
        found.add(node.id)
        # the fixed-point coordinate divided exactly, as a float parsed from the XML's 7 decimals is
        element: dict[str, Any] = {"type": "node", "id": node.id, "lat": node.location.y / 10_000_000}
        element["lon"] = node.location.x / 10_000_000
        tags = {t.k: t.v for t in node.tags if t.k in node_keep}
        if tags:
            element["tags"] = tags
        nodes.append(element)
    kept: list[dict[str, Any]] = []
    dropped = 0
    for way in ways:
        refs = [r for r in way["nodes"] if r in found]
        dropped += len(way["nodes"]) - len(refs)
        if len(refs) >= 2:
            kept.append({**way, "nodes": refs})
    if dropped:
        log.info("references to nodes outside the extract dropped", extra={"file": path.name, "references": dropped})
    return {"elements": [*nodes, *kept]}


def graph(path: Path, drivable: Iterable[str]) -> nx.MultiDiGraph:
    """The raw (unsimplified) graph of the file's drivable ways, built by osmnx's own constructor."""
    import osmnx as ox
    from osmnx.graph import _create_graph

    response = elements(path, drivable, ox.settings.useful_tags_way, ox.settings.useful_tags_node)
    return _create_graph([response], bidirectional=False)
