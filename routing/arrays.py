"""The road graph as numpy arrays: what a worker loads instead of the networkx graph (issue #18).

A province's networkx graph costs ≈ 1.3 KiB of Python objects per arc and minutes to unpickle;
the router needs only numbers per node and per arc. Built once from the graph (``hazmat graph
build`` writes it beside the pickled graph, an ``.npz``), loaded with ``np.load``:

* nodes: their ids (the graph's order) and lon/lat;
* arcs (the graph's edge order): tail and head (node positions), length (m), travel time (s);
* geometries: every arc's lon/lat vertices in one flat array, arc ``i``'s from ``offsets[i]`` to
  ``offsets[i + 1]`` (the straight line between its nodes when osmnx left its geometry out);
* attributes: the distinct tag sets (without geometry, length, travel time and OSM ids, which
  make every arc's dict unique) and each arc's code into them: a province has a few thousand;
* roads: which arcs share one line (a two-way street's two), grouped at build time.
"""

from __future__ import annotations

import pickle
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

#: bump when the arrays change meaning (an older file is rebuilt from the graph)
ARRAYS_VERSION = 2
#: per-arc values kept as arrays, never in the attribute table
PER_ARC = frozenset({"geometry", "length", "travel_time", "osmid"})


@dataclass
class NetworkArrays:
    """The road graph's numbers (see the module docstring); ``graph_attrs`` is the graph's own dict."""

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length: np.ndarray
    time: np.ndarray
    coords: np.ndarray  # (points, 2) lon/lat
    offsets: np.ndarray  # arcs + 1
    attr_code: np.ndarray
    attrs: list[dict[str, Any]]
    road_of: np.ndarray
    forward: np.ndarray  # the arc runs its road's line from its first vertex
    graph_attrs: dict[str, Any]
    #: what a road network computes from the rest (projected coordinates, boxes, the snapping grid, the hull),
    #: saved so a worker reads it instead (``network.with_derived``); empty: computed at start
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def arcs(self) -> int:
        return len(self.tail)

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph) -> NetworkArrays:
        """The arrays of a graph: nodes in its order, arcs in its edge order (what the topologies are keyed by)."""
        node_ids = list(graph.nodes)
        index = {n: i for i, n in enumerate(node_ids)}
        lon = np.array([d["x"] for _, d in graph.nodes(data=True)], dtype=float)
        lat = np.array([d["y"] for _, d in graph.nodes(data=True)], dtype=float)
        tail, head, length, time, counts, parts = [], [], [], [], [], []
        codes: dict[Hashable, int] = {}
        attrs: list[dict[str, Any]] = []
        attr_code = []
        for u, v, data in graph.edges(data=True):
            tail.append(index[u])
            head.append(index[v])
            length.append(float(data["length"]))
            time.append(float(data["travel_time"]))
            geom = data.get("geometry")
            if geom is None:
                xy = np.array([[lon[index[u]], lat[index[u]]], [lon[index[v]], lat[index[v]]]])
            else:
                xy = np.asarray(geom.coords, dtype=float)[:, :2]
            parts.append(xy)
            counts.append(len(xy))
            tags = {k: val for k, val in data.items() if k not in PER_ARC}
            key = _frozen(tags)
            code = codes.get(key)
            if code is None:
                code = codes[key] = len(attrs)
                attrs.append(tags)
            attr_code.append(code)
        offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        coords = np.concatenate(parts) if parts else np.zeros((0, 2))
        road_of, forward = _roads(coords, offsets)
        ids = np.array(node_ids)
        return cls(
            node_ids=ids if ids.dtype != object else np.array(node_ids, dtype=object),
            lon=lon,
            lat=lat,
            tail=np.array(tail, dtype=np.int64),
            head=np.array(head, dtype=np.int64),
            length=np.array(length, dtype=float),
            time=np.array(time, dtype=float),
            coords=coords,
            offsets=offsets,
            attr_code=np.array(attr_code, dtype=np.int32),
            attrs=attrs,
            road_of=road_of,
            forward=forward,
            graph_attrs=dict(graph.graph),
        )

    # --- the file ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """One ``.npz`` (uncompressed, so it loads by reading, no inflating), written atomically."""
        meta = pickle.dumps(
            {
                "version": ARRAYS_VERSION,
                "attrs": self.attrs,
                "graph_attrs": self.graph_attrs,
                "node_ids": self.node_ids if self.node_ids.dtype == object else None,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        arrays = {
            name: getattr(self, name)
            for name in (
                "lon", "lat", "tail", "head", "length", "time", "coords", "offsets", "attr_code", "road_of", "forward",
            )
        }  # fmt: skip
        if self.node_ids.dtype != object:
            arrays["node_ids"] = self.node_ids
        arrays.update({f"derived_{k}": v for k, v in self.derived.items()})
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(f, meta=np.frombuffer(meta, dtype=np.uint8), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> NetworkArrays:
        """The arrays saved by :meth:`save`; ``ValueError`` when the file is of another version."""
        with np.load(path, allow_pickle=False) as f:
            meta = pickle.loads(f["meta"].tobytes())
            if meta.get("version") != ARRAYS_VERSION:
                msg = f"{path}: road network arrays of version {meta.get('version')}, not {ARRAYS_VERSION}"
                raise ValueError(msg)
            found = {name: f[name] for name in f.files if name != "meta"}
        node_ids = meta["node_ids"] if meta["node_ids"] is not None else found.pop("node_ids")
        found.pop("node_ids", None)
        derived = {k.removeprefix("derived_"): found.pop(k) for k in list(found) if k.startswith("derived_")}
        return cls(node_ids=node_ids, attrs=meta["attrs"], graph_attrs=meta["graph_attrs"], derived=derived, **found)


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for a tag value (osmnx keeps lists when merged ways differ)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    return (type(value).__name__, value)


def _roads(coords: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group the arcs that share one line (rounded to 7 decimals, drawn either way) into roads, numbered in order.

    ``forward[i]``: arc ``i`` runs its road's line from the line's first vertex (the line is
    the lesser of the arc's vertex sequence and its reverse).
    """
    rounded = np.round(coords, 7).tolist()
    roads: dict[tuple[tuple[float, float], ...], int] = {}
    road_of = np.empty(len(offsets) - 1, dtype=np.int64)
    forward = np.empty(len(offsets) - 1, dtype=bool)
    bounds = offsets.tolist()
    for i in range(len(bounds) - 1):
        line = tuple(map(tuple, rounded[bounds[i] : bounds[i + 1]]))
        back = line[::-1]
        key, ahead = (line, True) if line <= back else (back, False)
        road_of[i] = roads.setdefault(key, len(roads))
        forward[i] = ahead
    return road_of, forward
