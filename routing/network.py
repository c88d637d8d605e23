"""The road graph as flat arrays: what the searches, the re-check and the answer read.

Built once per graph: edge ``i`` runs ``tail[i]`` → ``head[i]`` with its length, travel time,
OSM attributes and geometry (lon/lat, projected to metres, and as ready-made coordinate lists
so a route joins them with no shapely or numpy per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString

from .geo import Projection
from .graph import edge_geometry
from .policy import restricted
from .snapping import NodeGrid


@dataclass
class Path:
    """A path through the network: its edges, when each is entered, and its totals."""

    edges: list[int]
    entry_s: list[float]  # seconds after departure at which each edge is entered
    length_m: float
    duration_s: float


class RoadNetwork:
    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self.xs = [d["x"] for _, d in graph.nodes(data=True)]
        self.ys = [d["y"] for _, d in graph.nodes(data=True)]
        self.projection = Projection.around(float(np.mean(self.xs)), float(np.mean(self.ys)))
        self.node_ids = list(graph.nodes)
        node_index = {n: i for i, n in enumerate(self.node_ids)}
        mx, my = self.projection.forward.transform(np.array(self.xs), np.array(self.ys))
        self.node_xy = np.column_stack([mx, my])
        self._grid = NodeGrid(self.node_xy)
        self.bounds = (min(self.xs), min(self.ys), max(self.xs), max(self.ys))
        self.head: list[int] = []
        self.tail: list[int] = []
        self.length: list[float] = []
        self.time: list[float] = []
        self.data: list[dict[str, Any]] = []
        self.lonlat: list[LineString] = []
        self.out: list[list[int]] = [[] for _ in self.node_ids]
        for u, v, data in graph.edges(data=True):
            i = len(self.head)
            self.head.append(node_index[v])
            self.tail.append(node_index[u])
            self.length.append(float(data["length"]))
            self.time.append(float(data["travel_time"]))
            self.data.append(data)
            self.lonlat.append(edge_geometry(graph, u, v, data))
            self.out[node_index[u]].append(i)
        self.time_array = np.array(self.time)
        self.length_array = np.array(self.length)
        self.all_nodes = np.arange(len(self.node_ids), dtype=np.uint32)
        # edge geometry in metres (the zone matching and the re-check work there)
        self.projected = list(self.projection.to_metric(np.array(self.lonlat, dtype=object)))
        self.projected_array = np.array(self.projected, dtype=object)  # for the re-check's vectorised look-ups
        self.projected_bounds = shapely.bounds(self.projected_array)  # (minx, miny, maxx, maxy) per edge
        self.lonlat_xy = [[(x, y) for x, y in np.round(shapely.get_coordinates(g), 7).tolist()] for g in self.lonlat]
        self.refresh_restricted()

    def refresh_restricted(self) -> None:
        """Edges the map restricts in some way: the only ones whose closure depends on the load."""
        self.restricted = [i for i, d in enumerate(self.data) if restricted(d)]
        self.restricted_set = frozenset(self.restricted)

    def snap(self, lon: float, lat: float) -> tuple[int, float]:
        """The nearest road node and its distance in metres."""
        return self._grid.nearest(*self.projection.point(lon, lat))

    def path(self, arcs: Sequence[int]) -> Path:
        """The path along these edges, with entry times from the travel times."""
        if not len(arcs):
            return Path(edges=[], entry_s=[], length_m=0.0, duration_s=0.0)
        times = np.cumsum(self.time_array[arcs])
        return Path(
            edges=list(arcs),
            entry_s=[0.0, *times[:-1].tolist()],
            length_m=float(self.length_array[arcs].sum()),
            duration_s=float(times[-1]),
        )

    def coordinates(self, edges: list[int], origin: int) -> list[tuple[float, float]]:
        """The path's line (a zero-length one at the origin for an empty path)."""
        if not edges:
            return [(self.xs[origin], self.ys[origin])] * 2
        parts = self.lonlat_xy
        joined = list(parts[edges[0]])
        for i in edges[1:]:
            joined += parts[i][1:]  # consecutive edges share a node
        return joined
