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

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from .arrays import NetworkArrays
from .geo import Projection
from .policy import restricted
from .snapping import SegmentIndex


class Path:
    """A path through the network: its arcs, when each is entered, and its totals.

    ``start`` and ``end`` are where it starts on its first arc and ends on its last, as
    fractions of their length from their tails (0 and 1: it drives them whole).

    Held as arrays (:attr:`arcs`, :attr:`entries`): a province route has thousands of arcs, and
    the checks index the arrays; ``edges`` and ``entry_s``, the same as lists, are made when
    first asked for (most routes are never asked).
    """

    __slots__ = ("_edges", "_entry_s", "arcs", "duration_s", "end", "entries", "length_m", "start")

    def __init__(
        self,
        edges: Sequence[int] | np.ndarray,
        entry_s: Sequence[float] | np.ndarray,
        length_m: float,
        duration_s: float,
        start: float = 0.0,
        end: float = 1.0,
    ) -> None:
        #: the arcs, in order (int64)
        self.arcs: np.ndarray = np.asarray(edges, dtype=np.int64)
        #: seconds after departure at which each arc is entered
        self.entries: np.ndarray = np.asarray(entry_s, dtype=np.float64)
        if len(self.arcs) != len(self.entries):
            msg = f"a path of {len(self.arcs)} edges with {len(self.entries)} entry times"
            raise ValueError(msg)
        self._edges: list[int] | None = list(map(int, edges)) if isinstance(edges, list) else None
        self._entry_s: list[float] | None = list(map(float, entry_s)) if isinstance(entry_s, list) else None
        self.length_m, self.duration_s, self.start, self.end = length_m, duration_s, start, end

    @property
    def edges(self) -> list[int]:
        """The arcs as a list of ints."""
        if self._edges is None:
            self._edges = self.arcs.tolist()
        return self._edges

    @property
    def entry_s(self) -> list[float]:
        """Seconds after departure at which each edge is entered, as a list."""
        if self._entry_s is None:
            self._entry_s = self.entries.tolist()
        return self._entry_s

    def __len__(self) -> int:
        return len(self.arcs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Path):
            return NotImplemented
        return (self.edges, self.entry_s, self.length_m, self.duration_s, self.start, self.end) == (
            other.edges,
            other.entry_s,
            other.length_m,
            other.duration_s,
            other.start,
            other.end,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable before: never hashed

    def __repr__(self) -> str:
        return (
            f"Path(edges={self.edges!r}, entry_s={self.entry_s!r}, length_m={self.length_m!r}, "
            f"duration_s={self.duration_s!r}, start={self.start!r}, end={self.end!r})"
        )

    def edge(self, k: int) -> int:
        """The ``k``-th arc."""
        return int(self.arcs[k])

    def entry(self, k: int) -> float:
        """When the ``k``-th arc is entered (seconds after departure)."""
        return float(self.entries[k])

    def span(self, k: int) -> tuple[float, float]:
        """The part of ``edges[k]`` driven, as fractions of it from its tail."""
        return (self.start if k == 0 else 0.0), (self.end if k == len(self.arcs) - 1 else 1.0)


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
                end = End(int(net.head[arc]))
            elif f <= 0.0:
                end = End(int(net.tail[arc]))
            else:
                end = End(int(net.head[arc]), arc, f, 1.0)
            if end not in out:  # the point on a node: every arc gives the node
                out.append(end)
        return out

    def stops(self, net: RoadNetwork) -> list[End]:
        """Where a route to here may arrive from: each arc's tail, then along it to the point."""
        out: list[End] = []
        for arc, f in self.on:
            if f <= 0.0:
                end = End(int(net.tail[arc]))
            elif f >= 1.0:
                end = End(int(net.head[arc]))
            else:
                end = End(int(net.tail[arc]), arc, 0.0, f)
            if end not in out:
                out.append(end)
        return out


#: up to this many arcs (a city) the network keeps each arc's line and rounded vertices made
SMALL_ARCS = 200_000


class Lines:
    """Arc geometries made on demand from one flat coordinate array: ``lines[i]`` a LineString, ``lines[arcs]`` an
    array of them (what the zone matching and the re-check hand to shapely), never one object per arc held."""

    def __init__(self, coords: np.ndarray, offsets: np.ndarray) -> None:
        self.coords, self.offsets = coords, offsets
        self.held: np.ndarray | None = None

    def hold(self) -> None:
        """Make every line once and keep them (a city's few thousand: no line made per request)."""
        self.held = self[np.arange(len(self))]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        if self.held is not None:
            return self.held[i]
        if isinstance(i, int | np.integer):
            i = int(i) + (len(self) if i < 0 else 0)
            return LineString(self.coords[self.offsets[i] : self.offsets[i + 1]])
        arcs = np.asarray(i, dtype=np.int64).reshape(-1)
        if not len(arcs):
            return np.empty(0, dtype=object)
        points, counts = _points(self.offsets, arcs)
        return shapely.linestrings(self.coords[points], indices=np.repeat(np.arange(len(arcs)), counts))

    def __iter__(self) -> Iterator[LineString]:
        if self.held is not None:
            yield from self.held
            return
        for first in range(0, len(self), 65536):
            yield from self[np.arange(first, min(len(self), first + 65536))]


class Groups:
    """Lists of ints in one array (CSR): ``groups[k]`` the ``k``-th list, as a tuple."""

    def __init__(self, owner: np.ndarray, count: int) -> None:
        self.members = np.argsort(owner, kind="stable")
        self.start = np.searchsorted(owner[self.members], np.arange(count + 1)).tolist()

    def __len__(self) -> int:
        return len(self.start) - 1

    def __getitem__(self, k: int) -> tuple[int, ...]:
        return tuple(self.members[self.start[k] : self.start[k + 1]].tolist())

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return (self[k] for k in range(len(self)))


class ArcData(Sequence[dict[str, Any]]):
    """Each arc's attributes (tags and restriction attributes, with its length and travel time), as a dict.

    Held as one dict per distinct tag set and a code per arc; ``data[i]`` hands out the arc's
    own copy, kept, so an edit in place (tests, what-if tools) stays the arc's and
    :meth:`RoadNetwork.refresh_restricted` sees it. Iterating makes fresh dicts, keeps none.
    A network built from a networkx graph hands out the graph's own edge dicts instead (an edit
    shows in both, as the tests' reference searches on the graph expect).
    """

    def __init__(
        self,
        codes: np.ndarray,
        table: list[dict[str, Any]],
        length: np.ndarray,
        time: np.ndarray,
        graph: nx.MultiDiGraph | None = None,
    ) -> None:
        self.codes, self.table, self.length, self.time = codes, table, length, time
        self.own: dict[int, dict[str, Any]] = {}
        self.graph = graph
        self._edges: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def tags(self, i: int) -> dict[str, Any]:
        """The arc's tags, read only (shared with the arcs of the same tags): what the policy reads."""
        own = self.own.get(i)
        return own if own is not None else self.table[self.codes[i]]

    def _fresh(self, i: int) -> dict[str, Any]:
        if self.graph is not None:
            if self._edges is None:
                self._edges = [d for _, _, d in self.graph.edges(data=True)]
            return self._edges[i]
        return {**self.table[self.codes[i]], "length": float(self.length[i]), "travel_time": float(self.time[i])}

    def __getitem__(self, i: Any) -> Any:
        if not isinstance(i, int | np.integer):
            raise TypeError("ArcData is indexed by one arc")
        i = int(i) + (len(self) if i < 0 else 0)
        own = self.own.get(i)
        if own is None:
            own = self.own[i] = self._fresh(i)
        return own

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            own = self.own.get(i)
            yield own if own is not None else self._fresh(i)


class Adjacency:
    """The arcs leaving each node (CSR, in arc order): ``out[node]`` a list."""

    def __init__(self, tail: np.ndarray, nodes: int) -> None:
        self.arcs = np.argsort(tail, kind="stable")
        self.start = np.searchsorted(tail[self.arcs], np.arange(nodes + 1))

    def __len__(self) -> int:
        return len(self.start) - 1

    def __getitem__(self, node: int) -> list[int]:
        return self.arcs[self.start[node] : self.start[node + 1]].tolist()


def with_derived(arrays: NetworkArrays) -> NetworkArrays:
    """The arrays with what a road network computes from them (``hazmat graph build``: a worker then reads it)."""
    arrays.derived = {}
    arrays.derived = RoadNetwork(arrays).derived()
    return arrays


def _points(offsets: np.ndarray, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions in the flat coordinate array of these arcs' vertices, in order, and each arc's count."""
    first = offsets[arcs]
    counts = offsets[arcs + 1] - first
    shift = np.repeat(first - (np.cumsum(counts) - counts), counts)
    return np.arange(int(counts.sum())) + shift, counts


class RoadNetwork:
    """The road graph as arrays (:class:`NetworkArrays`), with the snapping grid and each arc's zones' inputs.

    Per arc it holds numbers only: a shapely line is made when something asks for one (a route's
    arcs, the re-check, the zone matching), so a province fits a worker.
    """

    def __init__(self, graph: nx.MultiDiGraph | NetworkArrays) -> None:
        arrays = graph if isinstance(graph, NetworkArrays) else NetworkArrays.from_graph(graph)
        saved = arrays.derived
        self.graph_attrs = arrays.graph_attrs
        self.xs, self.ys = arrays.lon, arrays.lat
        self.projection = Projection.around(float(np.mean(self.xs)), float(np.mean(self.ys)))
        self.node_ids = arrays.node_ids
        if "node_xy" in saved:
            self.node_xy = saved["node_xy"]
        else:
            mx, my = self.projection.forward.transform(self.xs, self.ys)
            self.node_xy = np.column_stack([mx, my])
        self.bounds = (float(self.xs.min()), float(self.ys.min()), float(self.xs.max()), float(self.ys.max()))
        self.tail, self.head = arrays.tail, arrays.head
        self.length = self.length_array = arrays.length
        self.time = self.time_array = arrays.time
        self.data = ArcData(
            arrays.attr_code, arrays.attrs, arrays.length, arrays.time, None if graph is arrays else graph
        )
        self.out = Adjacency(self.tail, len(self.node_ids))
        #: the fastest arc's speed (m/s): distances over it bound travel times from below
        self.max_speed_ms = float((self.length / np.maximum(self.time, 1e-9)).max()) if len(self.head) else 1.0
        self.all_nodes = np.arange(len(self.node_ids), dtype=np.uint32)
        # arc geometry, lon/lat and in metres (the zone matching and the re-check work there)
        self.offsets, self.coords = arrays.offsets, arrays.coords
        if "metric_coords" in saved:
            self.metric_coords = saved["metric_coords"]
        else:
            px, py = self.projection.forward.transform(self.coords[:, 0], self.coords[:, 1])
            self.metric_coords = np.column_stack([px, py])
        self.lonlat = Lines(self.coords, self.offsets)
        self.projected = self.projected_array = Lines(self.metric_coords, self.offsets)
        #: (minx, miny, maxx, maxy) per edge
        #: a city's arcs keep their lines and rounded lon/lat vertices made (as fast per request as per-arc objects
        #: are); a province's are made per use
        self.small = len(self.head) <= SMALL_ARCS
        self._lonlat_xy: list[list[tuple[float, float]]] = []
        if self.small:
            self.lonlat.hold()
            self.projected.hold()
            flat = [(x, y) for x, y in np.round(self.coords, 7).tolist()]
            bounds = self.offsets.tolist()
            self._lonlat_xy = [flat[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        self.projected_bounds = saved["bounds"] if "bounds" in saved else _bounds(self.metric_coords, self.offsets)
        self.road_of, self.forward = arrays.road_of, arrays.forward
        roads = int(self.road_of.max()) + 1 if len(self.road_of) else 0
        self.road_arcs = Groups(self.road_of, roads)
        # each road's line: its first arc's, drawn from the line's first vertex
        firsts = self.road_arcs.members[np.asarray(self.road_arcs.start[:-1], dtype=np.int64)]
        points, counts = _points(self.offsets, firsts)
        owner = np.repeat(np.arange(roads), counts)
        back = ~self.forward[firsts]
        if back.any():  # reversed in place: position k of a line from its end
            start = np.repeat(self.offsets[firsts], counts)
            points = np.where(np.repeat(back, counts), start + (start + np.repeat(counts, counts) - 1 - points), points)
        self.index = SegmentIndex.of_points(self.metric_coords[points], owner, roads, grid=saved)
        # the map's area: a point beyond it (plus the snap limit) is not on this city's map
        if "hull" in saved:
            self.hull = shapely.from_wkb(saved["hull"].tobytes())
        else:
            self.hull = shapely.convex_hull(shapely.multipoints(self.node_xy))
        shapely.prepare(self.hull)
        self.refresh_restricted()

    def derived(self) -> dict[str, np.ndarray]:
        """What this network computed from its arrays, for :attr:`NetworkArrays.derived` (a worker reads it)."""
        return {
            "node_xy": self.node_xy,
            "metric_coords": self.metric_coords,
            "bounds": self.projected_bounds,
            "hull": np.frombuffer(shapely.to_wkb(self.hull), dtype=np.uint8),
            **self.index.grid_arrays(),
        }

    def tags(self, arc: int) -> dict[str, Any]:
        """The arc's tags and restriction attributes (read only)."""
        return self.data.tags(arc)

    def refresh_restricted(self) -> None:
        """Edges the map restricts in some way: the only ones whose closure depends on the load."""
        data = self.data
        mask = np.zeros(len(data.table), dtype=bool)
        mask[[c for c, d in enumerate(data.table) if restricted(d)]] = True
        arcs = mask[data.codes] if len(data.codes) else np.zeros(0, dtype=bool)
        for i, d in data.own.items():
            arcs[i] = restricted(d)
        self.restricted = np.flatnonzero(arcs).tolist()
        self.restricted_set = frozenset(self.restricted)
        #: per arc: restricted (a route's arcs are tested against it at once)
        self.restricted_mask = arcs

    def meeting(self, shapes: Sequence[BaseGeometry]) -> list[np.ndarray]:
        """For each shape (metres), the arcs whose line meets it (touching counts), ascending.

        The arcs whose bounding box meets the shape's are found by one sorted array (of the
        boxes' west edges; an arc spans at most the widest box), then shapely decides on them.
        """
        boxes = self.projected_bounds
        order = getattr(self, "_by_west", None)
        if order is None:
            order = self._by_west = np.argsort(boxes[:, 0], kind="stable")
            self._west = boxes[order, 0]
            self._widest = float((boxes[:, 2] - boxes[:, 0]).max()) if len(boxes) else 0.0
        out = []
        for shape in shapes:
            x0, y0, x1, y1 = shape.bounds
            lo = np.searchsorted(self._west, x0 - self._widest, side="left")
            hi = np.searchsorted(self._west, x1, side="right")
            near = order[lo:hi]
            b = boxes[near]
            near = np.sort(near[(b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0) & (b[:, 0] <= x1)])
            out.append(near[shapely.intersects(shape, self.projected[near])] if len(near) else near)
        return out

    # --- snapping ---------------------------------------------------------------------

    def on_map(self, x: float, y: float, margin_m: float) -> bool:
        """The point (metres) is within ``margin_m`` of the map's area (the hull of its nodes)."""
        return bool(shapely.contains_xy(self.hull, x, y)) or bool(
            shapely.dwithin(self.hull, shapely.Point(x, y), margin_m)
        )

    def closed_roads(self, closed_arcs: Collection[int]) -> frozenset[int]:
        """The roads every arc of which is in ``closed_arcs`` (never a snap target)."""
        if not closed_arcs:
            return frozenset()
        candidates = np.unique(self.road_of[np.fromiter(closed_arcs, dtype=np.int64)]).tolist()
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

    def vertices(self, arc: int) -> int:
        """How many vertices the arc's line has."""
        return int(self.offsets[arc + 1] - self.offsets[arc])

    def lonlat_coords(self, arc: int) -> list[tuple[float, float]]:
        """The arc's lon/lat vertices, rounded to 7 decimals (≈ 1 cm: what the answer carries)."""
        if self.small:
            return self._lonlat_xy[arc]  # shared: callers copy before they change it
        a, b = self.offsets[arc], self.offsets[arc + 1]
        return [(x, y) for x, y in np.round(self.coords[a:b], 7).tolist()]

    def _locate(self, arc: int, fraction: float) -> tuple[int, float]:
        """The segment of ``arc`` (its index in the arc's own vertex order) holding ``fraction``, and where on it."""
        road = int(self.road_of[arc])
        if self.forward[arc]:
            return self.index.locate(road, fraction)
        k, t = self.index.locate(road, 1.0 - fraction)  # the arc runs the road's line backwards
        return self.vertices(arc) - 2 - k, 1.0 - t

    def point_at(self, arc: int, fraction: float) -> tuple[float, float]:
        """The lon/lat point at ``fraction`` of ``arc``."""
        k, t = self._locate(arc, fraction)
        (x0, y0), (x1, y1) = self.lonlat_coords(arc)[k : k + 2]
        return round(x0 + t * (x1 - x0), 7), round(y0 + t * (y1 - y0), 7)

    def part(self, arc: int, lo: float, hi: float, *, metric: bool = False) -> list[tuple[float, float]]:
        """The coordinates of ``arc`` from ``lo`` to ``hi`` (fractions from its tail); lon/lat or metres."""
        if metric:
            a, b = self.offsets[arc], self.offsets[arc + 1]
            coords = [(x, y) for x, y in self.metric_coords[a:b].tolist()]
        else:
            coords = self.lonlat_coords(arc)
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

    def join(self, source: End, arcs: Sequence[int] | np.ndarray, target: End) -> Path:
        """The path from a source end over ``arcs`` to a target end (``arcs`` run from source.node to target.node)."""
        edges = np.asarray(arcs, dtype=np.int64)
        start, end = 0.0, 1.0
        if source.arc is not None or target.arc is not None:
            first = [source.arc] if source.arc is not None else []
            final = [target.arc] if target.arc is not None else []
            edges = np.concatenate([np.asarray(first, dtype=np.int64), edges, np.asarray(final, dtype=np.int64)])
            start = source.lo if source.arc is not None else 0.0
            end = target.hi if target.arc is not None else 1.0
        return self.path(edges, start=start, end=end)

    def path(self, arcs: Sequence[int] | np.ndarray, *, start: float = 0.0, end: float = 1.0) -> Path:
        """The path along these edges from ``start`` on the first to ``end`` on the last, with entry times."""
        edges = np.asarray(arcs, dtype=np.int64)
        if not len(edges):
            return Path(edges=[], entry_s=[], length_m=0.0, duration_s=0.0)
        times, lengths = self.time_array[edges], self.length_array[edges]
        if len(edges) == 1:  # the shares driven of the end edges (whole ones: times 1, as exact)
            times[0] *= end - start
            lengths[0] *= end - start
        else:
            times[0] *= 1.0 - start
            lengths[0] *= 1.0 - start
            times[-1] *= end
            lengths[-1] *= end
        np.cumsum(times, out=times)
        entries = np.empty(len(edges))
        entries[0] = 0.0
        entries[1:] = times[:-1]
        return Path(
            edges=edges,
            entry_s=entries,
            length_m=float(lengths.sum()),
            duration_s=float(times[-1]),
            start=start,
            end=end,
        )

    def coordinates(self, found: Path, at: tuple[float, float]) -> list[tuple[float, float]]:
        """The path's line, from and to the snapped points (a zero-length one at ``at`` for an empty path).

        Consecutive edges share a node: an edge's first vertex is left out when it repeats the line's
        last. A province's route of thousands of vertices is gathered, rounded and joined with numpy
        from the flat coordinate array; only its partial end edges are cut per edge.
        """
        if not len(found):
            return [at, at]
        last = len(found) - 1
        if self.small:
            joined: list[tuple[float, float]] = []
            for k, i in enumerate(found.edges):
                part = self._lonlat_xy[i] if 0 < k < last else self.part(i, *found.span(k))
                joined += part[1:] if joined and joined[-1] == part[0] else part  # consecutive edges share a node
            return joined
        joined = self.part(found.edge(0), *found.span(0))
        if not last:
            return joined
        final = self.part(found.edge(last), *found.span(last))
        points, counts = _points(self.offsets, found.arcs[1:last])
        if len(points):  # np.take: a row gather several times faster than fancy indexing
            xy = np.round(np.take(self.coords, points, axis=0), 7)
            firsts = np.cumsum(counts) - counts
            before = np.empty((len(counts), 2))  # the line's last vertex before each middle edge
            before[0] = joined[-1]
            before[1:] = np.take(xy, firsts[1:] - 1, axis=0)
            keep = np.ones(len(xy), dtype=bool)
            keep[firsts] = (np.take(xy, firsts, axis=0) != before).any(axis=1)
            kept = np.compress(keep, xy, axis=0)
            joined += zip(kept[:, 0].tolist(), kept[:, 1].tolist(), strict=True)
        joined += final[1:] if joined[-1] == final[0] else final
        return joined


def _bounds(coords: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each arc's bounding box (minx, miny, maxx, maxy) from the flat coordinates."""
    if len(offsets) < 2:
        return np.zeros((0, 4))
    starts = offsets[:-1]
    return np.column_stack(
        [
            np.minimum.reduceat(coords[:, 0], starts),
            np.minimum.reduceat(coords[:, 1], starts),
            np.maximum.reduceat(coords[:, 0], starts),
            np.maximum.reduceat(coords[:, 1], starts),
        ]
    )
