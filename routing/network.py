"""The road graph as flat arrays: what the searches, the re-check and the answer read.

Built once per graph: edge (arc) ``i`` runs ``tail[i]`` → ``head[i]`` with its length, travel
time, OSM attributes and geometry (lon/lat, projected to metres, and as ready-made coordinate
lists so a route joins them with no shapely or numpy per request).

A *road* is what a point snaps to: the arcs that share one line (one for a one-way street,
two for a two-way street, drawn both ways, and the rare duplicate way). Snapping finds the nearest point on a road the load may use; the
route then starts there, mid-arc: an :class:`End` is where a search starts or stops (a node,
reached over the part of an arc between it and the snapped point), and a :class:`Path`
records how much of its first and last arcs it drives.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString

from .geo import Projection
from .graph import edge_geometry
from .policy import restricted
from .snapping import SegmentIndex


@dataclass
class Path:
    """A path through the network: its arcs, when each is entered, and its totals.

    ``start`` and ``end`` are where it starts on its first arc and ends on its last, as
    fractions of their length from their tails (0 and 1: it drives them whole).
    """

    edges: list[int]
    entry_s: list[float]  # seconds after departure at which each edge is entered
    length_m: float
    duration_s: float
    start: float = 0.0
    end: float = 1.0

    def span(self, k: int) -> tuple[float, float]:
        """The part of ``edges[k]`` driven, as fractions of it from its tail."""
        return (self.start if k == 0 else 0.0), (self.end if k == len(self.edges) - 1 else 1.0)


class End(NamedTuple):
    """Where a search starts or stops: ``node``, joined to the snapped point by ``arc`` from ``lo`` to ``hi``.

    For an origin the vehicle drives ``arc`` from the point (``lo``) to its head (``hi`` = 1),
    which is ``node``; for a destination from ``node``, the arc's tail (``lo`` = 0), to the point
    (``hi``). ``arc`` is ``None`` when the point is the node itself.
    """

    node: int
    arc: int | None = None
    lo: float = 0.0
    hi: float = 1.0


@dataclass(frozen=True)
class Snap:
    """A point moved onto the nearest road the load may use: where it lands and on which arcs."""

    distance_m: float
    x: float  # the snapped point, in metres
    y: float
    lon: float
    lat: float
    on: tuple[tuple[int, float], ...]  # (arc, fraction from its tail) for each arc of the road the load may use

    def starts(self, net: RoadNetwork) -> list[End]:
        """Where a route from here may leave: along each arc, in its direction (a one-way street one way)."""
        out: list[End] = []
        for arc, f in self.on:
            if f >= 1.0:
                end = End(net.head[arc])
            elif f <= 0.0:
                end = End(net.tail[arc])
            else:
                end = End(net.head[arc], arc, f, 1.0)
            if end not in out:  # the point on a node: every arc gives the node
                out.append(end)
        return out

    def stops(self, net: RoadNetwork) -> list[End]:
        """Where a route to here may arrive from: each arc's tail, then along it to the point."""
        out: list[End] = []
        for arc, f in self.on:
            if f <= 0.0:
                end = End(net.tail[arc])
            elif f >= 1.0:
                end = End(net.head[arc])
            else:
                end = End(net.tail[arc], arc, 0.0, f)
            if end not in out:
                out.append(end)
        return out


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
        #: the fastest arc's speed (m/s): distances over it bound travel times from below
        self.max_speed_ms = float((self.length_array / np.maximum(self.time_array, 1e-9)).max()) if self.head else 1.0
        self.all_nodes = np.arange(len(self.node_ids), dtype=np.uint32)
        # edge geometry in metres (the zone matching and the re-check work there)
        self.projected = list(self.projection.to_metric(np.array(self.lonlat, dtype=object)))
        self.projected_array = np.array(self.projected, dtype=object)  # for the re-check's vectorised look-ups
        self.projected_bounds = shapely.bounds(self.projected_array)  # (minx, miny, maxx, maxy) per edge
        self.lonlat_xy = [[(x, y) for x, y in np.round(shapely.get_coordinates(g), 7).tolist()] for g in self.lonlat]
        self._roads()
        # the map's area: a point beyond it (plus the snap limit) is not on this city's map
        self.hull = shapely.convex_hull(shapely.multipoints(self.node_xy))
        shapely.prepare(self.hull)
        self.refresh_restricted()

    def _roads(self) -> None:
        """Group the arcs that share one line (a two-way street's two, and the rare duplicates) into roads."""
        roads: dict[tuple[tuple[float, float], ...], int] = {}
        self.road_of: list[int] = []
        self.forward: list[bool] = []  # the arc runs its road's line from its first vertex
        arcs_of: list[list[int]] = []
        for i, xy in enumerate(self.lonlat_xy):
            line, back = tuple(xy), tuple(reversed(xy))
            key, forward = (line, True) if line <= back else (back, False)
            road = roads.setdefault(key, len(roads))
            if road == len(arcs_of):
                arcs_of.append([])
            arcs_of[road].append(i)
            self.road_of.append(road)
            self.forward.append(forward)
        self.road_arcs = [tuple(arcs) for arcs in arcs_of]
        lines = [
            self.projected[arcs[0]] if self.forward[arcs[0]] else self.projected[arcs[0]].reverse()
            for arcs in self.road_arcs
        ]
        self.index = SegmentIndex(np.array(lines, dtype=object))

    def refresh_restricted(self) -> None:
        """Edges the map restricts in some way: the only ones whose closure depends on the load."""
        self.restricted = [i for i, d in enumerate(self.data) if restricted(d)]
        self.restricted_set = frozenset(self.restricted)

    # --- snapping ---------------------------------------------------------------------

    def on_map(self, x: float, y: float, margin_m: float) -> bool:
        """The point (metres) is within ``margin_m`` of the map's area (the hull of its nodes)."""
        return bool(shapely.contains_xy(self.hull, x, y)) or bool(
            shapely.dwithin(self.hull, shapely.Point(x, y), margin_m)
        )

    def closed_roads(self, closed_arcs: Collection[int]) -> frozenset[int]:
        """The roads every arc of which is in ``closed_arcs`` (never a snap target)."""
        candidates = {self.road_of[i] for i in closed_arcs}
        return frozenset(r for r in candidates if all(a in closed_arcs for a in self.road_arcs[r]))

    def snap(
        self, x: float, y: float, closed_arcs: Collection[int] = (), closed_roads: Collection[int] = ()
    ) -> Snap | None:
        """The nearest point (``x``, ``y`` in metres) on a road with an arc not in ``closed_arcs``.

        ``closed_roads`` (:meth:`closed_roads` of the same arcs) lets the index skip closed
        roads without asking per arc; ``None`` when every road is closed.
        """
        found = self.index.nearest(x, y, closed_roads)
        if found is None:
            return None
        on = tuple(
            (a, found.fraction if self.forward[a] else 1.0 - found.fraction)
            for a in self.road_arcs[found.line]
            if a not in closed_arcs
        )
        lon, lat = self.point_at(on[0][0], on[0][1])
        return Snap(distance_m=found.distance_m, x=found.x, y=found.y, lon=lon, lat=lat, on=on)

    def _locate(self, arc: int, fraction: float) -> tuple[int, float]:
        """The segment of ``arc`` (its index in the arc's own vertex order) holding ``fraction``, and where on it."""
        road = self.road_of[arc]
        if self.forward[arc]:
            return self.index.locate(road, fraction)
        k, t = self.index.locate(road, 1.0 - fraction)  # the arc runs the road's line backwards
        return len(self.lonlat_xy[arc]) - 2 - k, 1.0 - t

    def point_at(self, arc: int, fraction: float) -> tuple[float, float]:
        """The lon/lat point at ``fraction`` of ``arc``."""
        k, t = self._locate(arc, fraction)
        (x0, y0), (x1, y1) = self.lonlat_xy[arc][k], self.lonlat_xy[arc][k + 1]
        return round(x0 + t * (x1 - x0), 7), round(y0 + t * (y1 - y0), 7)

    def part(self, arc: int, lo: float, hi: float, *, metric: bool = False) -> list[tuple[float, float]]:
        """The coordinates of ``arc`` from ``lo`` to ``hi`` (fractions from its tail); lon/lat or metres."""
        coords = self.lonlat_xy[arc] if not metric else [tuple(p) for p in shapely.get_coordinates(self.projected[arc])]
        if lo <= 0.0 and hi >= 1.0:
            return list(coords)

        def at(f: float) -> tuple[int, tuple[float, float]]:
            k, t = self._locate(arc, f)
            (x0, y0), (x1, y1) = coords[k], coords[k + 1]
            return k, (x0 + t * (x1 - x0), y0 + t * (y1 - y0))

        ka, a = (0, coords[0]) if lo <= 0.0 else at(lo)
        kb, b = (len(coords) - 2, coords[-1]) if hi >= 1.0 else at(hi)
        if not metric:
            a, b = (round(a[0], 7), round(a[1], 7)), (round(b[0], 7), round(b[1], 7))
        return [a, *coords[ka + 1 : kb + 1], b]

    # --- paths ------------------------------------------------------------------------

    def end_cost(self, end: End, weight: Sequence[float]) -> float:
        """The cost by ``weight`` of an end's partial arc (0 when the point is the node)."""
        return 0.0 if end.arc is None else (end.hi - end.lo) * weight[end.arc]

    def join(self, source: End, arcs: Sequence[int], target: End) -> Path:
        """The path from a source end over ``arcs`` to a target end (``arcs`` run from source.node to target.node)."""
        edges = list(arcs)
        start, end = 0.0, 1.0
        if source.arc is not None:
            edges.insert(0, source.arc)
            start = source.lo
        if target.arc is not None:
            edges.append(target.arc)
            end = target.hi
        return self.path(edges, start=start, end=end)

    def path(self, arcs: Sequence[int], *, start: float = 0.0, end: float = 1.0) -> Path:
        """The path along these edges from ``start`` on the first to ``end`` on the last, with entry times."""
        if not len(arcs):
            return Path(edges=[], entry_s=[], length_m=0.0, duration_s=0.0)
        share = np.ones(len(arcs))
        if len(arcs) == 1:
            share[0] = end - start
        else:
            share[0], share[-1] = 1.0 - start, end
        times = np.cumsum(self.time_array[arcs] * share)
        return Path(
            edges=list(arcs),
            entry_s=[0.0, *times[:-1].tolist()],
            length_m=float((self.length_array[arcs] * share).sum()),
            duration_s=float(times[-1]),
            start=start,
            end=end,
        )

    def coordinates(self, found: Path, at: tuple[float, float]) -> list[tuple[float, float]]:
        """The path's line, from and to the snapped points (a zero-length one at ``at`` for an empty path)."""
        if not found.edges:
            return [at, at]
        last = len(found.edges) - 1
        joined: list[tuple[float, float]] = []
        for k, i in enumerate(found.edges):
            part = self.lonlat_xy[i] if 0 < k < last else self.part(i, *found.span(k))
            joined += part[1:] if joined and joined[-1] == part[0] else part  # consecutive edges share a node
        return joined
