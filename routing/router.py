"""Permitted routes (shared/spec/routing.md): the best route that breaks no restriction.

An edge is closed when the map closes it to the load, or when a zone that applies to the
load is active at the moment the vehicle would enter it (a zone outside its window changes
nothing). The unrestricted route is asked first: when it breaks nothing it is the answer,
and what it breaks is what the answer ``avoided``. Otherwise two searches answer:

* the fast path, a customizable contraction hierarchy (RoutingKit's CCH via pyroutingkit):
  one topology per graph, one customised metric per set of closed edges (the load's map
  restrictions plus the zones active at departure; blocked arcs get infinite weight),
  cached, so a query costs tens of microseconds. It is exact when no applicable zone
  changes state during the trip, which is checked for every answer;
* otherwise a time-dependent label-setting search in Python (A*, its potentials the
  distances to the target on a reversed CCH with nothing closed: a lower bound).

Every route is then re-checked, independently of both searches and of the zone index,
against the exact zone shapes; a violation raises :class:`RouteViolation`, never a quiet
answer.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
import pyroutingkit
import shapely
from shapely.geometry import LineString, Point

from hazmat.cityconfig import City, ZoneFeature
from hazmat.events import Avoided, Route, RouteRequest
from hazmat.events import LineString as GeoLine

from .geo import Projection
from .graph import edge_geometry
from .policy import Load, restricted, static_reason, zone_reason
from .restrictions import CityRoadRules, osm_water_sources
from .snapping import NodeGrid
from .zones import Zone, ZoneIndex, load_zones

#: an origin or destination farther than this from every road is outside the map
MAX_SNAP_M = 2000.0
#: a distance-optimal trip is assumed to end within this many hours (zone states are checked over it)
DISTANCE_HORIZON_S = 6 * 3600
#: customised metrics kept per router (one per restriction set in use)
METRIC_CACHE = 64


def _topology(tail: list[int], head: list[int], xs: list[float], ys: list[float]) -> Any:
    """A contraction-hierarchy topology of the arcs tail[i] → head[i] (nested dissection on the coordinates)."""
    topology = pyroutingkit.CCHTopology()
    topology.build(
        np.array(tail, dtype=np.uint32),
        np.array(head, dtype=np.uint32),
        np.array(ys, dtype=np.float32),
        np.array(xs, dtype=np.float32),
        len(xs),
    )
    return topology


class RouteViolation(AssertionError):  # noqa: N818  (a violation, not an ordinary error)
    """A route crossed an active zone: a bug in the search, reported loudly."""


@dataclass
class _Search:
    edges: list[int]
    entry_s: list[float]  # seconds after departure at which each edge is entered
    length_m: float
    duration_s: float


class Router:
    """A city's road graph and zones, ready to answer route requests."""

    def __init__(self, graph: nx.MultiDiGraph, city: City, *, zones: Sequence[ZoneFeature] | None = None) -> None:
        self.city = city
        self.graph = graph
        self.road_rules = CityRoadRules(untagged_tunnel_forbidden=city.city.untagged_tunnel_policy == "forbidden")
        xs = [d["x"] for _, d in graph.nodes(data=True)]
        ys = [d["y"] for _, d in graph.nodes(data=True)]
        self.projection = Projection.around(float(np.mean(xs)), float(np.mean(ys)))
        self.node_ids = list(graph.nodes)
        node_index = {n: i for i, n in enumerate(self.node_ids)}
        mx, my = self.projection.forward.transform(np.array(xs), np.array(ys))
        self.node_xy = np.column_stack([mx, my])
        self._grid = NodeGrid(self.node_xy)
        self.bounds = (min(xs), min(ys), max(xs), max(ys))
        # edges as flat arrays: what the search loop reads
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
        self._all_nodes = np.arange(len(self.node_ids), dtype=np.uint32)
        self.length_array = np.array(self.length)
        self.tagged = self._tagged_edges()
        self.metric = list(self.projection.to_metric(np.array(self.lonlat, dtype=object)))
        self.metric_array = np.array(self.metric, dtype=object)  # for the re-check's vectorised look-ups
        self.metric_bounds = shapely.bounds(self.metric_array)  # (minx, miny, maxx, maxy) per edge
        # route geometry as ready-made coordinate lists: a route joins them, no shapely or numpy per request
        self.lonlat_xy = [[(x, y) for x, y in np.round(shapely.get_coordinates(g), 7).tolist()] for g in self.lonlat]
        self._static: dict[tuple[Any, ...], frozenset[int]] = {}
        self._cch = _topology(self.tail, self.head, xs, ys)
        self._weights = {
            "time": np.maximum(1, np.round(np.array(self.time) * 1000)).astype(np.uint32),  # ms
            "distance": np.maximum(1, np.round(np.array(self.length) * 1000)).astype(np.uint32),  # mm
        }
        # The reversed graph, for A* potentials of the time-dependent search: the distance of every
        # node to the target with nothing closed, from one one-to-many query. Weights are rounded
        # down so that the potential never exceeds the true remaining cost (admissible, consistent).
        self._reverse = _topology(self.head, self.tail, xs, ys)
        self._to_target: dict[str, Any] = {}
        self.set_zones(load_zones(city, self.projection, self.city_zone_features() if zones is None else zones))

    def city_zone_features(self) -> list[ZoneFeature]:
        """The city's configured zones, plus the water sources mapped in OSM when the city derives them."""
        features = list(self.city.zones.features)
        if self.city.city.derive_water_sources:
            derived = osm_water_sources.as_zone_features(
                self.graph.graph.get("water_sources", []), self.city.city.water_source_buffer_m
            )
            configured = {f.properties.id for f in features}
            features += [f for f in derived if f.properties.id not in configured]
        return features

    def set_zones(self, zones: list[Zone]) -> None:
        """Match every edge to the zones its geometry meets (once per zone set)."""
        self.zones = zones
        self.zone_bounds = np.array([z.metric.bounds for z in zones], dtype=float).reshape(-1, 4)
        self.edge_zones = ZoneIndex(zones).meeting(self.metric)
        self.zone_edges: list[list[int]] = [[] for _ in zones]
        for i, zs in enumerate(self.edge_zones):
            for z in zs:
                self.zone_edges[z].append(i)
        self._metrics: dict[tuple[Any, ...], Any] = {}
        self._applying: dict[Load, tuple[int, ...]] = {}

    def applying(self, load: Load) -> tuple[int, ...]:
        """The zones (indices) whose ``applies_to`` covers the load: every zone for most loads."""
        found = self._applying.get(load)
        if found is None:
            found = self._applying[load] = tuple(
                z for z, zone in enumerate(self.zones) if zone.applies(load.classes, load.un_numbers)
            )
        return found

    # --- snapping ---------------------------------------------------------------------

    def snap(self, lon: float, lat: float) -> tuple[int, float]:
        """The nearest road node and its distance in metres."""
        return self._grid.nearest(*self.projection.point(lon, lat))

    # --- search -----------------------------------------------------------------------

    def potentials(self, dst: int, kind: str) -> list[float]:
        """A lower bound of the cost from every node to ``dst`` (seconds or metres; inf: unreachable)."""
        metric = self._to_target.get(kind)
        if metric is None:
            scale = self.time_array if kind == "time" else self.length_array
            metric = self._to_target[kind] = pyroutingkit.CCHMetric(self._reverse)
            metric.customize(np.floor(scale * 1000).astype(np.uint32))
        found = metric.distances_many_to_many(np.array([dst], dtype=np.uint32), self._all_nodes)[0]
        bound = found.astype(float) / 1000
        bound[found >= pyroutingkit.INF_WEIGHT] = math.inf
        return bound.tolist()

    def _search(
        self,
        src: int,
        dst: int,
        depart_s: float,
        weight: list[float],
        blocked: Callable[[int, float], bool],
        potential: Sequence[float] | None = None,
    ) -> _Search | None:
        """Time-dependent label-setting search (A* when ``potential`` bounds the cost to ``dst``)."""
        head, out, ttime = self.head, self.out, self.time
        h = potential if potential is not None else [0.0] * len(self.node_ids)
        best = {src: 0.0}
        at = {src: 0.0}
        pred: dict[int, int] = {}
        heap = [(h[src], src)]
        done: set[int] = set()
        while heap:
            _, u = heapq.heappop(heap)
            if u in done:
                continue
            done.add(u)
            if u == dst:
                break
            cost, t = best[u], at[u]
            for i in out[u]:
                v = head[i]
                if v in done or h[v] == math.inf or blocked(i, depart_s + t):
                    continue
                c = cost + weight[i]
                if c < best.get(v, math.inf):
                    best[v] = c
                    at[v] = t + ttime[i]
                    pred[v] = i
                    heapq.heappush(heap, (c + h[v], v))
        if dst not in done:
            return None
        edges: list[int] = []
        node = dst
        while node != src:
            i = pred[node]
            edges.append(i)
            node = self.tail[i]
        edges.reverse()
        entry, t = [], 0.0
        for i in edges:
            entry.append(t)
            t += ttime[i]
        return _Search(edges=edges, entry_s=entry, length_m=sum(self.length[i] for i in edges), duration_s=t)

    def _blocker(self, load: Load) -> Callable[[int, float], bool]:
        static = {i for i in self.tagged if static_reason(self.data[i], load, rules=self.road_rules)}
        applying = [z.applies(load.classes, load.un_numbers) for z in self.zones]
        zones, edge_zones = self.zones, self.edge_zones

        def blocked(i: int, epoch_s: float) -> bool:
            if i in static:
                return True
            near = edge_zones[i]
            return bool(near) and any(applying[z] and zones[z].active_at_epoch(epoch_s) for z in near)

        return blocked

    def _tagged_edges(self) -> list[int]:
        """Edges the map restricts in some way: the only ones whose closure depends on the load."""
        return [i for i, d in enumerate(self.data) if restricted(d)]

    @property
    def tagged(self) -> list[int]:
        return self._tagged

    @tagged.setter
    def tagged(self, edges: list[int]) -> None:
        self._tagged = edges
        self._tagged_set = frozenset(edges)

    def refresh_restrictions(self) -> None:
        """Forget cached closures and metrics after edge attributes were edited in place."""
        self.tagged = self._tagged_edges()
        self._applying.clear()
        self._static.clear()
        self._metrics.clear()

    def _static_blocked(self, load: Load) -> frozenset[int]:
        key = (load, self.road_rules)
        if key not in self._static:
            self._static[key] = frozenset(
                i for i in self.tagged if static_reason(self.data[i], load, rules=self.road_rules)
            )
        return self._static[key]

    def _metric(self, kind: str, key: tuple[Any, ...], closing: Callable[[], frozenset[int]]) -> Any:
        """The customised metric for ``key``; ``closing`` gives its closed edges, asked only on a cache miss."""
        metric = self._metrics.get((kind, *key))
        if metric is None:
            weights = self._weights[kind].copy()
            closed = closing()
            if closed:
                weights[np.fromiter(closed, dtype=np.int64)] = pyroutingkit.INF_WEIGHT
            metric = pyroutingkit.CCHMetric(self._cch)
            metric.customize(weights)
            if len(self._metrics) >= METRIC_CACHE:
                self._metrics.pop(next(iter(self._metrics)))
            self._metrics[(kind, *key)] = metric
        return metric

    def _path(self, arcs: Sequence[int]) -> _Search:
        if not arcs:
            return _Search(edges=[], entry_s=[], length_m=0.0, duration_s=0.0)
        times = np.cumsum(self.time_array[arcs])
        return _Search(
            edges=list(arcs),
            entry_s=[0.0, *times[:-1].tolist()],
            length_m=float(self.length_array[arcs].sum()),
            duration_s=float(times[-1]),
        )

    def _fast(self, src: int, dst: int, depart: datetime, load: Load | None, kind: str) -> _Search | bool | None:
        """The CCH answer; ``None`` when no path exists, ``False`` when the time-dependent search must decide."""
        if load is None:
            found = self._metric(kind, ("free",), frozenset).query(src, dst)
            return None if found[0] >= pyroutingkit.INF_WEIGHT else self._path(found[2])
        applying = self.applying(load)
        active = frozenset(z for z in applying if self.zones[z].active(depart))

        def closing() -> frozenset[int]:
            return self._static_blocked(load).union(*(self.zone_edges[z] for z in active))

        metric = self._metric(kind, (load, self.road_rules, active), closing)
        distance, _nodes, arcs = metric.query(src, dst)
        found = None if distance >= pyroutingkit.INF_WEIGHT else self._path(arcs)
        horizon = found.duration_s if found is not None and kind == "time" else DISTANCE_HORIZON_S
        start = int(depart.timestamp() // 60)
        for z in applying:
            zone = self.zones[z]
            if zone.windows is not None and any(
                zone.active_at_epoch(m * 60) != (z in active) for m in range(start, start + int(horizon // 60) + 2)
            ):
                return False
        return found

    def violations(self, found: _Search, load: Load, depart_s: float) -> list[Avoided]:
        """Every restriction a path breaks, in path order, each named once."""
        out: dict[str, Avoided] = {}
        static, applying, edge_zones = self._static_blocked(load), self.applying(load), self.edge_zones
        for i, entry in zip(found.edges, found.entry_s, strict=True):
            if i in static:
                reason = static_reason(self.data[i], load, rules=self.road_rules)
                if reason is not None:
                    out.setdefault(f"{reason.kind}:{reason.reason_en}", reason)
            for z in edge_zones[i]:
                zone = self.zones[z]
                if z in applying and zone.active_at_epoch(depart_s + entry):
                    out.setdefault(f"zone:{zone.id}", zone_reason(zone))
        return list(out.values())

    def recheck(self, found: _Search, load: Load, depart: datetime) -> None:
        """Independent check against the exact zone shapes (no zone index, no cached matching).

        Only edges whose bounding box meets the zone's are handed to shapely: a box that
        misses cannot intersect, and most zones are nowhere near a given route.
        """
        if not found.edges:
            return
        edges = np.asarray(found.edges)
        boxes, zb = self.metric_bounds[edges][:, None, :], self.zone_bounds[None, :, :]  # edges × zones
        overlap = (
            (boxes[..., 0] <= zb[..., 2])
            & (boxes[..., 2] >= zb[..., 0])
            & (boxes[..., 1] <= zb[..., 3])
            & (boxes[..., 3] >= zb[..., 1])
        )
        start = depart.timestamp()
        for z in np.flatnonzero(overlap.any(axis=0)).tolist():
            zone, near = self.zones[z], overlap[:, z]
            if not zone.applies(load.classes, load.un_numbers):
                continue
            if zone.windows is not None:
                near &= np.array([zone.active_at_epoch(start + entry) for entry in found.entry_s], dtype=bool)
            (candidates,) = np.nonzero(near)
            if not len(candidates):
                continue
            hits = shapely.intersects(zone.metric, self.metric_array[edges[candidates]])
            if hits.any():
                k = int(candidates[int(np.argmax(hits))])
                at = depart + timedelta(seconds=found.entry_s[k])
                msg = f"route enters zone {zone.id} on edge {found.edges[k]} at {at.isoformat()}: a routing bug"
                raise RouteViolation(msg)
        for i in found.edges:
            if i not in self._tagged_set:  # an edge without restriction tags has no reason
                continue
            reason = static_reason(self.data[i], load, rules=self.road_rules)
            if reason is not None:
                msg = f"route uses a closed road on edge {i}: {reason.reason_en}"
                raise RouteViolation(msg)

    # --- the answer -------------------------------------------------------------------

    def plan(self, request: RouteRequest, *, load: Load | None = None) -> Route:
        load = load or Load.of(request.load, self.city.rules.tunnel_codes)
        base = {"route_id": f"rt-{request.request_id}", "request_id": request.request_id, "plate": request.plate}
        origin, o_dist = self.snap(request.origin.lon, request.origin.lat)
        target, d_dist = self.snap(request.destination.lon, request.destination.lat)
        if o_dist > MAX_SNAP_M or d_dist > MAX_SNAP_M:
            far = "origin" if o_dist > MAX_SNAP_M else "destination"
            return Route(
                **base,
                status="outside_map",
                reason_zh=f"{'起点' if far == 'origin' else '终点'}距最近道路超过 {MAX_SNAP_M:.0f} 米，不在本市路网范围内",
                reason_en=f"the {far} is more than {MAX_SNAP_M:.0f} m from any road of the city's map",
            )
        kind = request.optimize
        found, reasons = self._attempt(request, load, origin, target, kind, request.depart_at)
        if found is None:
            return self._no_route(request, load, origin, target, kind, reasons, base)
        self.recheck(found, load, request.depart_at)
        return Route(
            **base,
            status="ok",
            length_m=round(found.length_m, 1),
            duration_s=round(found.duration_s, 1),
            geometry=GeoLine(coordinates=self._coordinates(found.edges, origin)),
            avoided=reasons,
            arrive_at=request.depart_at + timedelta(seconds=round(found.duration_s)),
        )

    def _inside(self, lon: float, lat: float, load: Load, at: datetime) -> list[Zone]:
        x, y = self.projection.point(lon, lat)
        zones, bounds = self.zones, self.zone_bounds.tolist()
        return [
            zones[z]
            for z in self.applying(load)
            if bounds[z][0] <= x <= bounds[z][2]
            and bounds[z][1] <= y <= bounds[z][3]
            and zones[z].active(at)
            and zones[z].metric.intersects(Point(x, y))
        ]

    def _attempt(
        self, request: RouteRequest, load: Load, origin: int, target: int, kind: str, depart: datetime
    ) -> tuple[_Search | None, list[Avoided]]:
        """The permitted route, or ``None``; with what the unrestricted route breaks (``avoided``, or ``blocked_by``).

        The unrestricted route comes first: when it breaks nothing it is the answer (optimal
        among all routes, so among the permitted ones), and the restricted search is skipped.
        """
        ends = self._inside(request.origin.lon, request.origin.lat, load, depart)
        ends += [
            z for z in self._inside(request.destination.lon, request.destination.lat, load, depart) if z not in ends
        ]
        if ends:
            return None, [zone_reason(z) for z in ends]
        free = self._fast(origin, target, depart, None, kind)
        assert free is not False
        if free is None:
            return None, []  # no road at all between the two
        broken = self.violations(free, load, depart.timestamp())
        if not broken:
            return free, []
        fast = self._fast(origin, target, depart, load, kind)
        if fast is False:  # a zone changes state during the trip: the time-dependent search decides
            weight = self.time if kind == "time" else self.length
            bound = self.potentials(target, kind)
            fast = self._search(origin, target, depart.timestamp(), weight, self._blocker(load), bound)
        return fast, broken

    def _no_route(
        self,
        request: RouteRequest,
        load: Load,
        origin: int,
        target: int,
        kind: str,
        blocked_by: list[Avoided],
        base: dict[str, Any],
    ) -> Route:
        earliest = None
        for candidate in self._later_departures(load, request.depart_at):
            found, _ = self._attempt(request, load, origin, target, kind, candidate)
            if found is not None:
                earliest = candidate
                break
        names_zh = "；".join(b.reason_zh for b in blocked_by) or "起终点之间没有道路连通"
        names_en = "; ".join(b.reason_en for b in blocked_by) or "no road connects origin and destination"
        return Route(
            **base,
            status="no_permitted_route",
            blocked_by=blocked_by,
            reason_zh=f"无可行路线：{names_zh}",
            reason_en=f"no permitted route: {names_en}",
            earliest_departure_at=earliest,
        )

    def _later_departures(self, load: Load, depart: datetime) -> list[datetime]:
        """When a windowed zone that applies to the load ends within 24 h: the only moments things change."""
        moments = {
            end.astimezone(depart.tzinfo)
            for z in self.zones
            if z.windows is not None and z.applies(load.classes, load.un_numbers)
            for end in z.ends_within(depart)
        }
        return sorted(moments)

    def _coordinates(self, edges: list[int], origin: int) -> list[tuple[float, float]]:
        if not edges:
            node = self.graph.nodes[self.node_ids[origin]]
            return [(node["x"], node["y"]), (node["x"], node["y"])]
        parts = self.lonlat_xy
        joined = list(parts[edges[0]])
        for i in edges[1:]:
            joined += parts[i][1:]  # consecutive edges share a node
        return joined
