"""Permitted routes (shared/spec/routing.md): the best route that breaks no restriction.

An edge is closed when the map closes it to the load, or when a zone that applies to the
load is active at the moment the vehicle would enter it (a zone outside its window changes
nothing). The unrestricted route is asked first: when it breaks nothing it is the answer,
and what it breaks is what the answer ``avoided``. Otherwise two searches answer:

* the fast path, a customizable contraction hierarchy (RoutingKit's CCH, our binding ``_cch``):
  one topology per graph, one customised metric per set of closed edges (the load's map
  restrictions plus the zones active at departure; blocked arcs get infinite weight),
  cached, so a query costs tens of microseconds. It is exact when no applicable zone
  changes state during the trip, which is checked for every answer;
* otherwise a time-dependent label-setting search in Python (A*, its potentials the
  distances to the target on a reversed CCH with nothing closed: a lower bound).

Both ends snap to the nearest point on a road the load may use (a road the map closes to it,
a tunnel of its category or a ``hazmat=no`` street, is never a snap target; zones do not
steer the snap), and the route starts and ends there, mid-edge. The CCH's topology is fixed
(no virtual arcs), so a search runs between the snapped arcs' end nodes with the partial
arcs' costs added: one search from the (at most two) start nodes to the (two) stop nodes,
which chooses the best pair and gives its path; the time-dependent search starts from the start
nodes with the partial costs and entry times. The partial arcs are tested against the
zones on the part actually driven.

Every route is then re-checked, independently of both searches and of the zone index,
against the exact zone shapes; a violation raises :class:`RouteViolation`, never a quiet
answer.

The parts: ``network`` (the edges as flat arrays, snapping, paths), ``metrics`` (the CCH
topologies and the cache of customised metrics), ``tdsearch`` (the time-dependent search),
``recheck`` (the independent check) and ``answer`` (the refusals' wording); this module
decides which search answers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from hazmat.cityconfig import City, RoadFeature, ZoneFeature
from hazmat.events import Avoided, Pass, Route, RouteRequest
from hazmat.events import LineString as GeoLine
from hazmat.passes import PassBook

from . import answer, tdsearch
from .arrays import NetworkArrays
from .metrics import RESERVE_S, Metrics, Provisional, topology_cache
from .network import End, Path, RoadNetwork, Snap
from .openings import CLOSED, NO_OPENINGS, Openings, OpenShapes, State, openings_of
from .policy import Load, static_reason, zone_reason
from .recheck import RouteViolation, recheck
from .restrictions import CityRoadRules, osm_water_sources
from .zones import WindowMarks, Zone, load_zones

__all__ = ["RouteViolation", "Router"]

#: a distance-optimal trip is assumed to end within this many hours (zone states are checked over it)
DISTANCE_HORIZON_S = 6 * 3600
#: the straight-line distances (projected) are shrunk by this before they bound a route's length: a local
#: UTM projection stretches distances by well under 1 % over a province (scale factor ≤ 1.004 at 8° of longitude)
REACH_SLACK = 0.98
#: vehicles whose passes' openings are kept
OPENINGS_KEPT = 4096
#: how far ahead a worker prepares the states the zone windows bring (seconds; ``Router.prepare``)
PREPARE_HORIZON_S = 180.0
#: states prepared per use (load class, kind and zones applying): the one now and the next boundary's
PREPARED_PER_USE = 2
#: uses (load class, kind, zones applying) remembered for preparing ahead, the most recent kept
USES_KEPT = 8

#: a use of the router's metrics: the kind (time or distance), the load class (arcs the map closes), the zones applying
Use = tuple[str, frozenset[int], tuple[int, ...]]


@dataclass(frozen=True)
class NoPath:
    """No path exists with these closures."""


@dataclass(frozen=True)
class ZoneSwitches:
    """An applicable zone opens or closes during the trip (a window, or a pass starting or ending): the CCH
    answer is not exact."""

    zone_id: str


#: what the fast (CCH) search answers
Fast = Path | NoPath | ZoneSwitches
#: no route found yet (seconds or metres)
INF_COST = float("inf")


def _cost(found: Path, kind: str) -> float:
    return found.duration_s if kind == "time" else found.length_m


class Router:
    """A city's road graph and zones, ready to answer route requests."""

    def __init__(
        self,
        graph: nx.MultiDiGraph | NetworkArrays,
        city: City,
        *,
        zones: Sequence[ZoneFeature | RoadFeature] | None = None,
    ) -> None:
        """``graph``: the networkx graph (kept as ``self.graph`` for the caller: tests compare with it), or its
        arrays (:func:`routing.graph.load_network`: a worker, which never builds the networkx graph)."""
        self.city = city
        #: the passes ``plan`` applies when it is given none (``hazmat route``: the city's passes.yaml)
        self.passes = PassBook()
        self._graph = graph if isinstance(graph, nx.MultiDiGraph) else None
        self.road_rules = CityRoadRules(untagged_tunnel_forbidden=city.settings.untagged_tunnel_policy == "forbidden")
        self.net = RoadNetwork(graph)
        self.projection = self.net.projection
        self.metrics = Metrics(self.net, cache=topology_cache(self.net.graph_attrs))
        self._static: dict[tuple[Any, ...], frozenset[int]] = {}
        self._static_roads: dict[tuple[Any, ...], frozenset[int]] = {}
        self._classes: dict[frozenset[int], frozenset[int]] = {}
        #: the uses requests made lately, and each plate's last (what :meth:`prepare` moves metrics for)
        self._uses: OrderedDict[Use, None] = OrderedDict()
        self._plate_uses: OrderedDict[str, Use] = OrderedDict()
        #: the request thread notes uses while the worker's timer and passes follower read them
        self._uses_lock = threading.Lock()
        self.set_zones(load_zones(city, self.projection, self.city_zone_features() if zones is None else zones))

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph: the one given, or the city's cached one, loaded on first use (tools and tests only)."""
        if self._graph is None:
            from .graph import load

            self._graph = load(self.city)
        return self._graph

    def warm(self, codes: Iterable[str] | None = None, *, wait: bool = True, lazy_classes: bool = False) -> None:
        """Customise at worker start what requests need first (a province's metric takes seconds).

        The unrestricted metric (every request's first search) and the load classes of loads with
        these tunnel codes (default: the city's default code) and no class-specific closures, then,
        in the background, the time-dependent search's potentials. Other classes are customised on
        their first request. ``lazy_classes``: the classes in the background too, after the
        unrestricted metric (a province worker answers after one customisation, not two; a request
        that needs a class before it is there waits for it).
        """
        codes = [self.city.rules.tunnel_codes.default] if codes is None else list(codes)
        classes = [("time", self._static_blocked(Load(frozenset(), frozenset(), code))) for code in codes]
        if lazy_classes:
            self.metrics.warm([("time", frozenset())], wait=wait)
            self.metrics.warm(classes, potentials=["time"], wait=False)
            return
        self.metrics.warm([("time", frozenset()), *classes], wait=wait)
        self.metrics.warm([], potentials=["time"], wait=False)

    def city_zone_features(self) -> list[ZoneFeature | RoadFeature]:
        """The city's configured zones, plus the water sources mapped in OSM when the city derives them."""
        features: list[ZoneFeature | RoadFeature] = list(self.city.zones.features)
        if self.city.settings.derive_water_sources:
            derived = osm_water_sources.as_zone_features(
                self.net.graph_attrs.get("water_sources", []), self.city.settings.water_source_buffer_m
            )
            configured = {f.properties.id for f in features}
            features += [f for f in derived if f.properties.id not in configured]
        return features

    def set_zones(self, zones: list[Zone]) -> None:
        """Match every edge to the zones that close it (once per zone set).

        An edge is a zone's when its geometry meets the zone; in a designated area only when
        it strays from the area's designated roads (``Zone.closing``, on the exact shapes).
        """
        self.zones = zones
        self.zone_bounds = np.array([z.metric.bounds for z in zones], dtype=float).reshape(-1, 4)
        self._zone_boxes: list[list[float]] = self.zone_bounds.tolist()
        self.zone_edges: list[list[int]] = [arcs.tolist() for arcs in self.net.meeting([z.metric for z in zones])]
        for z, zone in enumerate(zones):
            if zone.designated and self.zone_edges[z]:
                meeting = np.array(self.zone_edges[z])
                self.zone_edges[z] = meeting[zone.closing(self.net.projected_array[meeting])].tolist()
        edge_zones: list[tuple[int, ...]] = [()] * len(self.net.head)  # one shared empty tuple for most arcs
        for z, edges in enumerate(self.zone_edges):
            for i in edges:
                edge_zones[i] = (*edge_zones[i], z)
        self.edge_zones = edge_zones
        #: per arc: some zone closes it (a route's arcs are tested against it at once, not one by one)
        self.zone_arcs = np.zeros(len(self.net.head), dtype=bool)
        for edges in self.zone_edges:
            self.zone_arcs[edges] = True
        #: per load class (its closed arcs): the arcs a route's violations are looked for on (closed by it or a zone)
        self._flagged: dict[frozenset[int], np.ndarray] = {}
        #: (load, zones' states at departure) -> the zones closed then and the metric's key, without passes
        self._shut: dict[tuple[Load, bytes], tuple[dict[int, State], frozenset[Any]]] = {}
        self.marks = WindowMarks(zones)
        self._zone_at = {zone.id: z for z, zone in enumerate(zones)}
        self.open_shapes = OpenShapes(self.net, self.projection, zones, self.zone_edges)
        #: (plate, ids of its pass objects) -> (the objects, kept alive so their ids stay theirs; their openings)
        self._openings: dict[tuple[str, tuple[int, ...]], tuple[tuple[Pass, ...], Openings]] = {}
        self.metrics.forget_states()
        self._applying: dict[Load, tuple[tuple[int, ...], frozenset[int]]] = {}
        self._uses, self._plate_uses = OrderedDict(), OrderedDict()  # zone indices of the old set

    def applying(self, load: Load) -> tuple[int, ...]:
        """The zones (indices, in order) whose ``applies_to`` covers the load: every zone for most loads."""
        return self._applies(load)[0]

    def _applies(self, load: Load) -> tuple[tuple[int, ...], frozenset[int]]:
        found = self._applying.get(load)
        if found is None:
            ordered = tuple(z for z, zone in enumerate(self.zones) if zone.applies(load.classes, load.un_numbers))
            found = self._applying[load] = (ordered, frozenset(ordered))
        return found

    def refresh_restrictions(self) -> None:
        """Forget cached closures and metrics after edge attributes were edited in place."""
        self.net.refresh_restricted()
        self._applying.clear()
        self._flagged.clear()
        self._shut.clear()
        self._static.clear()
        self._static_roads.clear()
        self._classes.clear()
        self._uses, self._plate_uses = OrderedDict(), OrderedDict()
        self.metrics.clear()

    # --- closures ---------------------------------------------------------------------

    def _static_blocked(self, load: Load) -> frozenset[int]:
        """The edges the map closes to this load (cached per load and city rules)."""
        key = (load, self.road_rules)
        if key not in self._static:
            tags = self.net.tags
            closed = frozenset(i for i in self.net.restricted if static_reason(tags(i), load, rules=self.road_rules))
            # one object per load class: the metrics find their class by it without comparing the sets
            self._static[key] = self._classes.setdefault(closed, closed)
        return self._static[key]

    def openings(self, plate: str, passes: Iterable[Pass]) -> Openings:
        """What ``plate``'s passes open, zone by zone (routing.md item 6).

        Kept per set of pass objects (passes are immutable, and a book hands out the same
        objects until it changes), so a vehicle's requests do not rebuild them each time.
        """
        held = tuple(passes)
        if not held:
            return NO_OPENINGS
        key = (plate, tuple(map(id, held)))
        kept = self._openings.get(key)
        if kept is None or kept[0] != held:
            kept = self._openings[key] = (held, openings_of(held, plate, self.zones, self._zone_at))
            if len(self._openings) > OPENINGS_KEPT:
                self._openings.pop(next(iter(self._openings)))
        return kept[1]

    def _blocker(self, load: Load, openings: Openings = NO_OPENINGS) -> tdsearch.Blocked:
        static, applying = self._static_blocked(load), self._applies(load)[1]
        zones, edge_zones, shapes = self.zones, self.edge_zones, self.open_shapes

        def blocked(i: int, epoch_s: float) -> bool:
            if i in static:
                return True
            for z in edge_zones[i]:
                if z in applying and zones[z].active_at_epoch(epoch_s):
                    state = openings.state(z, epoch_s) if openings else CLOSED
                    if state is not None and (not state or i in shapes.closed_edges(z, state)):
                        return True
            return False

        return blocked

    # --- snapping ---------------------------------------------------------------------

    def _closed_roads(self, load: Load) -> frozenset[int]:
        """The roads (one arc, or a two-way street's two) the map closes to this load: never a snap target."""
        key = (load, self.road_rules)
        if key not in self._static_roads:
            self._static_roads[key] = self.net.closed_roads(self._static_blocked(load))
        return self._static_roads[key]

    def snap(self, lon: float, lat: float, load: Load) -> Snap | None:
        """The nearest point on a road this load may use (``None``: the map has none open to it)."""
        return self._snap(*self.projection.point(lon, lat), load)

    def _snap(self, x: float, y: float, load: Load) -> Snap | None:
        return self.net.snap(x, y, self._static_blocked(load), self._closed_roads(load))

    # --- searches ---------------------------------------------------------------------

    def _piece(self, arc: int, lo: float, hi: float) -> BaseGeometry:
        """The part of ``arc`` from ``lo`` to ``hi``, in metres (a point when it is empty)."""
        if lo <= 0.0 and hi >= 1.0:
            return self.net.projected[arc]
        coords = self.net.part(arc, lo, hi, metric=True)
        return Point(coords[0]) if hi <= lo else LineString(coords)

    def _piece_zones(self, arc: int, lo: float, hi: float) -> tuple[int, ...]:
        """The zones that close the part of ``arc`` from ``lo`` to ``hi`` (its exact geometry, not the whole arc's),
        passes aside."""
        near = self.edge_zones[arc]
        if not near or (lo <= 0.0 and hi >= 1.0):
            return near
        piece = self._piece(arc, lo, hi)
        return tuple(z for z in near if self.zones[z].closes(piece))

    def _piece_closed(self, arc: int, lo: float, hi: float, z: int, state: State) -> bool:
        """Does zone ``z`` (closing the piece without passes), in this state, close the piece?"""
        if state is None:
            return False
        if not state:
            return True
        if lo <= 0.0 and hi >= 1.0:
            return arc in self.open_shapes.closed_edges(z, state)
        return self.open_shapes.closes(z, self._piece(arc, lo, hi), state)

    def _driven_zones(self, found: Path, k: int) -> tuple[int, ...]:
        """The zones met by the part of the path's ``k``-th edge that it drives."""
        lo, hi = found.span(k)
        return self._piece_zones(found.edge(k), lo, hi)

    def _end_blocker(self, load: Load, openings: Openings = NO_OPENINGS) -> tdsearch.EndBlocked:
        """Is an end's partial arc closed by a zone that applies and is active at that moment (and not opened)."""
        applying, zones = self._applies(load)[1], self.zones

        def blocked(end: End, epoch_s: float) -> bool:
            assert end.arc is not None
            return any(
                z in applying
                and zones[z].active_at_epoch(epoch_s)
                and self._piece_closed(end.arc, end.lo, end.hi, z, openings.state(z, epoch_s))
                for z in self._piece_zones(end.arc, end.lo, end.hi)
            )

        return blocked

    @staticmethod
    def _direct(origin: Snap, target: Snap) -> list[End]:
        """Both ends on one arc, the destination ahead on it: the drive between them, with no node at all.

        Written as an :class:`End` whose partial arc is the whole drive (its node unused).
        """
        return [End(-1, a, fa, fb) for a, fa in origin.on for b, fb in target.on if a == b and fa <= fb]

    def _cheapest(
        self, metric: Any, sources: list[End], targets: list[End], direct: list[End], kind: str
    ) -> Path | NoPath:
        """The cheapest of the direct drives and the CCH paths from a source to a target, partial arcs included.

        One CCH search from every source to every target with their partial arcs' costs (a two-way
        street at either end: two of each): the pair it chooses costs what the cheapest entry of their
        distance table would, the first of equals, and its path is the point-to-point query's.
        """
        net = self.net
        weight = net.time if kind == "time" else net.length
        best, choice = INF_COST, None
        for d in direct:
            cost = net.end_cost(d, weight)
            if cost < best:
                best, choice = cost, d
        arcs: np.ndarray | list[int] = []
        pair = None
        if sources and targets:
            cost, _distance, i, j, found = metric.query_many(
                [s.node for s in sources],
                [net.end_cost(s, weight) for s in sources],
                [t.node for t in targets],
                [net.end_cost(t, weight) for t in targets],
            )
            if cost < best:
                best, pair, arcs = cost, (sources[i], targets[j]), found
        if pair is not None:
            return net.join(pair[0], arcs, pair[1])
        if choice is not None:
            return net.path([choice.arc], start=choice.lo, end=choice.hi)  # type: ignore[list-item]
        return NoPath()

    def _state(self, z: int, epoch_s: float, openings: Openings) -> State:
        """Zone ``z`` at that moment: ``None`` open (inactive, or opened wholly by a pass), else the pass routes
        it is open along (empty: closed wholly)."""
        if not self.zones[z].active_at_epoch(epoch_s):
            return None
        return openings.state(z, epoch_s) if openings else CLOSED

    def _fast(
        self,
        origin: Snap,
        target: Snap,
        depart: datetime,
        load: Load | None,
        kind: str,
        openings: Openings = NO_OPENINGS,
    ) -> Fast:
        """The CCH answer, exact unless an applicable zone switches (a window, a pass) during the trip.

        The metric is keyed by the closed zones and what of them passes open (their routes),
        never by pass id: two vehicles with equivalent passes share one.
        """
        sources, targets, direct = origin.starts(self.net), target.stops(self.net), self._direct(origin, target)
        if load is None:
            free = self.metrics.lease(kind, frozenset(), frozenset())
            try:
                return self._cheapest(free.metric, sources, targets, direct, kind)
            finally:
                free.release()
        applying = self.applying(load)
        depart_s = depart.timestamp()
        now = self.marks.active_at(int(depart_s // 60))  # every zone's state at departure (most have no window)
        if openings:
            shut: dict[int, State] = self._shut_at(applying, depart_s, openings)
            key = frozenset(shut.items())
        else:
            shut, key = self._closed_at(load, now)
        if shut:  # the partial arcs at the ends: the part driven, against the zones closed at departure

            def open_(e: End) -> bool:
                return e.arc is None or not any(
                    z in shut and self._piece_closed(e.arc, e.lo, e.hi, z, shut[z])
                    for z in self._piece_zones(e.arc, e.lo, e.hi)
                )

            sources, targets, direct = (
                [e for e in sources if open_(e)],
                [e for e in targets if open_(e)],
                [e for e in direct if open_(e)],
            )
        # leased: no background move (ahead of need) takes the metric while it is queried
        lease = self.metrics.lease(kind, self._static_blocked(load), key, self._closing(shut))
        try:
            found = self._cheapest(lease.metric, sources, targets, direct, kind)
            # a zone came into force, its metric being moved: the held one's answer is exact unless it drives the zone
            if isinstance(lease, Provisional) and isinstance(found, Path) and not lease.exact(found.arcs):
                own = lease.wait(lease=True)
                try:
                    found = self._cheapest(own.metric, sources, targets, direct, kind)
                finally:
                    own.release()
        finally:
            lease.release()
        horizon = found.duration_s if isinstance(found, Path) and kind == "time" else DISTANCE_HORIZON_S
        start, end_s = int(depart_s // 60), depart_s + horizon + 120
        first_s, last_s = (start + 1) * 60, (start + int(horizon // 60) + 1) * 60
        beyond = self._beyond_reach(origin, target, found, kind)
        # every minute of the trip, tested at the moments its windows can change (the same answer): without passes
        # a zone's state is its window's, and the zones whose windows switch are found for all of them at once
        switching = self.marks.differing(first_s, last_s, now)
        if not openings:
            for z in sorted(switching):
                if z in self._applies(load)[1] and not beyond(z):
                    return ZoneSwitches(self.zones[z].id)
            return found
        for z in applying:
            zone, moments = self.zones[z], openings.moments(z)
            if not moments:
                if z in switching and not beyond(z):
                    return ZoneSwitches(zone.id)
                continue
            if beyond(z):
                continue
            times = zone.changes_between(first_s, last_s)
            times += [t for t in moments if depart_s < t <= end_s]
            if any(self._state(z, t, openings) != shut.get(z) for t in times):
                return ZoneSwitches(zone.id)
        return found

    def _shut_at(self, applying: Sequence[int], at_s: float, openings: Openings) -> dict[int, frozenset[Any]]:
        """The applying zones closed at ``at_s`` (epoch seconds), each with what passes leave it closed along (a zone
        a pass opens wholly is left out): the state a metric is customised to."""
        shut: dict[int, frozenset[Any]] = {}
        zones = self.zones
        for z in applying:
            if zones[z].active_at_epoch(at_s):
                state = openings.state(z, at_s) if openings else CLOSED
                if state is not None:
                    shut[z] = state
        return shut

    def _closing(self, shut: dict[int, frozenset[Any]]) -> Callable[[], frozenset[int]]:
        """The arcs a state closes, computed when asked (only for a state not held)."""

        def closing() -> frozenset[int]:
            return frozenset().union(
                *(
                    self.zone_edges[z] if not state else self.open_shapes.closed_edges(z, state)
                    for z, state in shut.items()
                )
            )

        return closing

    # --- ahead of need ----------------------------------------------------------------

    def _note_use(self, plate: str, load: Load, kind: str) -> None:
        """Remember a request's use of the metrics (its class, kind and zones), for :meth:`prepare`."""
        use = (kind, self._static_blocked(load), self._applies(load)[0])
        with self._uses_lock:
            self._uses[use] = None
            self._uses.move_to_end(use)
            if len(self._uses) > USES_KEPT:
                self._uses.popitem(last=False)
            self._plate_uses[plate] = use
            self._plate_uses.move_to_end(plate)
            if len(self._plate_uses) > OPENINGS_KEPT:
                self._plate_uses.popitem(last=False)

    def prepare(self, now: datetime, horizon_s: float = PREPARE_HORIZON_S) -> int:
        """Move metrics, in the background, into the states the zone windows bring within ``horizon_s`` of ``now``,
        for the load classes in use (a worker calls it on a timer): the first request after a window
        boundary then finds its state held and pays no customisation (a partial one costs 14 ms–1.1 s
        at a million nodes, by where the zone sits in the hierarchy). Per use the state now and the
        next one; classes with no metric held are skipped. Returns the states queued."""
        now_s = now.timestamp()
        with self._uses_lock:
            uses = list(reversed(self._uses))
        queued = sum(self._prepare_use(use, now_s, horizon_s, NO_OPENINGS) for use in uses)
        self.metrics.perfect()  # after the moves: the metrics in use then relax fewer arcs per search
        return queued

    def prepare_passes(
        self, plate: str, passes: Iterable[Pass], now: datetime, horizon_s: float = PREPARE_HORIZON_S
    ) -> int:
        """A pass arrived for ``plate`` (its passes now ``passes``): move metrics, in the background, into the
        states they make now and when they start within ``horizon_s``, for the plate's last load class
        (or, for a plate not seen yet, the two classes used last). Returns the states queued."""
        # not through ``self.openings``: its cache belongs to the request thread (this runs in the passes follower's)
        openings = openings_of(passes, plate, self.zones, self._zone_at)
        if not openings:
            return 0
        now_s = now.timestamp()
        starts = [t for t in openings.starts() if now_s < t <= now_s + horizon_s]
        with self._uses_lock:
            use = self._plate_uses.get(plate)
            uses = [use] if use is not None else list(reversed(self._uses))[:2]
        return sum(self._prepare_use(u, now_s, horizon_s, openings, starts) for u in uses)

    def _prepare_use(
        self, use: Use, now_s: float, horizon_s: float, openings: Openings, moments: Iterable[float] = ()
    ) -> int:
        """Queue the first :data:`PREPARED_PER_USE` distinct states of ``use`` from ``now_s`` on (now, the window
        boundaries and ``moments`` within the horizon), each reserved until a while after its moment."""
        kind, klass, applying = use
        zones, last_s = self.zones, now_s + horizon_s
        times = sorted({now_s, *moments, *(t for z in applying for t in zones[z].changes_between(now_s, last_s))})
        wall, seen, queued = time.time(), set(), 0
        for t in times:
            shut = self._shut_at(applying, t, openings)
            key = frozenset(shut.items())
            if key in seen:
                continue
            seen.add(key)
            until = wall + (t - now_s) + RESERVE_S
            queued += self.metrics.prepare(kind, klass, key, self._closing(shut), reserved_until=until)
            if len(seen) >= PREPARED_PER_USE:
                break
        return queued

    def _closed_at(self, load: Load, now: np.ndarray) -> tuple[dict[int, State], frozenset[Any]]:
        """The zones that apply to the load and are active (``now``), closed wholly (no passes), and the metric's
        key for them: kept, so a request builds neither (a few hundred zones) and the key's hash is computed once."""
        cache_key = (load, now.tobytes())
        found = self._shut.get(cache_key)
        if found is None:
            shut: dict[int, State] = {z: CLOSED for z in self.applying(load) if now[z]}
            found = (shut, frozenset(shut.items()))
            if len(self._shut) >= OPENINGS_KEPT:
                self._shut.pop(next(iter(self._shut)))
            self._shut[cache_key] = found
        return found

    def _beyond_reach(self, origin: Snap, target: Snap, found: Fast, kind: str) -> Callable[[int], bool]:
        """Zones whose state cannot change the answer, whenever they switch: ``found`` drives none of their edges
        and every route that meets the zone costs at least as much as ``found``.

        A route meeting a zone runs from the origin to the zone and on to the destination, so it is
        at least as long as the straight lines to and from the zone's bounding box (metres, less
        ``REACH_SLACK`` for the projection's scale) and takes at least that over the fastest arc's
        speed. Then ``found`` is optimal whatever the zone's state (a cheaper route would meet the
        zone), and permitted (it does not meet it): the time-dependent search is not needed for it.
        At province scale a long trip crosses some window's start or end almost always, somewhere.
        """
        if not isinstance(found, Path):
            return lambda _z: False
        driven: set[int] | None = None  # the zones of the path's edges, gathered when first needed
        cost = _cost(found, kind)
        scale = REACH_SLACK / (self.net.max_speed_ms if kind == "time" else 1.0)
        bounds, (ox, oy), (tx, ty) = self._zone_boxes, (origin.x, origin.y), (target.x, target.y)

        def beyond(z: int) -> bool:
            nonlocal driven
            x0, y0, x1, y1 = bounds[z]
            to = math.hypot(max(x0 - ox, 0.0, ox - x1), max(y0 - oy, 0.0, oy - y1))
            back = math.hypot(max(x0 - tx, 0.0, tx - x1), max(y0 - ty, 0.0, ty - y1))
            if (to + back) * scale < cost:
                return False
            if driven is None:
                driven = self._path_zones(found)
            return z not in driven

        return beyond

    def _path_zones(self, found: Path) -> set[int]:
        """The zones that close some edge of the path (whole edges)."""
        arcs = found.arcs
        return {z for i in arcs[self.zone_arcs[arcs]].tolist() for z in self.edge_zones[i]}

    def _flags(self, load: Load) -> np.ndarray:
        """Per arc: the map closes it to this load, or a zone closes it (the only arcs a path can break)."""
        static = self._static_blocked(load)
        found = self._flagged.get(static)
        if found is None:
            found = self.zone_arcs.copy()
            found[np.fromiter(static, dtype=np.int64, count=len(static))] = True
            self._flagged[static] = found
        return found

    def _timed(
        self, origin: Snap, target: Snap, depart: datetime, load: Load, kind: str, openings: Openings = NO_OPENINGS
    ) -> Path | None:
        """The time-dependent search (A*), with the direct drive along one arc when both ends share it."""
        net = self.net
        weight = net.time if kind == "time" else net.length
        sources, targets = origin.starts(net), target.stops(net)
        end_blocked = self._end_blocker(load, openings)
        depart_s = depart.timestamp()
        bound = self.metrics.potentials([(t.node, net.end_cost(t, weight)) for t in targets], kind)
        blocked = self._blocker(load, openings)
        found = tdsearch.search(net, sources, targets, depart_s, weight, blocked, bound, end_blocked)
        for d in self._direct(origin, target):
            if not end_blocked(d, depart_s) and (found is None or net.end_cost(d, weight) < _cost(found, kind)):
                found = net.path([d.arc], start=d.lo, end=d.hi)  # type: ignore[list-item]
        return found

    def violations(self, found: Path, load: Load, depart_s: float, openings: Openings = NO_OPENINGS) -> list[Avoided]:
        """Every restriction a path breaks, in path order, each named once (partial end arcs: the part driven).

        A zone a pass opens (wholly, or along its route where the path keeps to it) is not broken.
        """
        out: dict[str, Avoided] = {}
        static, applying, edge_zones = self._static_blocked(load), self._applies(load)[1], self.edge_zones
        last = len(found) - 1
        for k in np.flatnonzero(self._flags(load)[found.arcs]).tolist():  # the edges closed by the map or a zone
            i, entry = found.edge(k), found.entry(k)
            if i in static:
                reason = static_reason(self.net.tags(i), load, rules=self.road_rules)
                if reason is not None:
                    out.setdefault(f"{reason.kind}:{reason.reason_en}", reason)
            near = edge_zones[i]
            if not near:
                continue
            lo, hi = found.span(k)
            for z in self._driven_zones(found, k) if k in (0, last) else near:
                zone = self.zones[z]
                key = f"zone:{zone.id}"
                if key in out:  # named already: its reason is not built again for each edge in it
                    continue
                if z in applying and zone.active_at_epoch(depart_s + entry):
                    state = openings.state(z, depart_s + entry) if openings else CLOSED
                    if self._piece_closed(i, lo, hi, z, state):
                        out[key] = zone_reason(zone)
        return list(out.values())

    def passes_used(self, found: Path, load: Load, depart_s: float, openings: Openings) -> list[str]:
        """The passes the path relies on: valid when it drives a piece a zone would close without them."""
        used: set[str] = set()
        if not openings:
            return []
        applying = self._applies(load)[1]
        last = len(found) - 1
        for k in np.flatnonzero(self.zone_arcs[found.arcs]).tolist():  # the edges a zone closes
            i, entry = found.edge(k), found.entry(k)
            for z in self._driven_zones(found, k) if k in (0, last) else self.edge_zones[i]:
                t = depart_s + entry
                if z in applying and self.zones[z].active_at_epoch(t):
                    used.update(o.pass_id for o in openings.valid(z, t))
        return sorted(used)

    def _ends_opened(
        self, points: Sequence[tuple[float, float]], load: Load, at: datetime, openings: Openings
    ) -> set[str]:
        """The passes that open a zone holding one of the route's ends (ends inside an opened zone are allowed)."""
        used: set[str] = set()
        for x, y in points:
            for z in self._holding(x, y, load, at):
                used.update(o.pass_id for o in openings.valid(z, at.timestamp()))
        return used

    def recheck(self, found: Path, load: Load, depart: datetime, passes: Sequence[Pass] = (), plate: str = "") -> None:
        """Independent check against the exact zone shapes and the passes themselves (:mod:`routing.recheck`)."""
        recheck(
            self.net, self.zones, self.zone_bounds, found, load, depart, self.road_rules, passes=passes, plate=plate
        )

    # --- the answer -------------------------------------------------------------------

    def plan(self, request: RouteRequest, *, load: Load | None = None, passes: Iterable[Pass] | None = None) -> Route:
        """The permitted route for a request (routing.md, "The answer"), or the refusal that says why not.

        In the spec's order: an end beyond the map's area is ``outside_map``; an end farther
        than ``max_snap_m`` from every road the load may use is ``no_road_nearby``; then the
        zones at the snapped ends, then the searches from and to the snapped points. ``passes``:
        the police passes to apply (those of the request's plate count; default: ``self.passes``).
        """
        load = load or Load.of(request.load, self.city.rules.tunnel_codes)
        held = [
            p for p in (self.passes.for_plate(request.plate) if passes is None else passes) if p.plate == request.plate
        ]
        openings = self.openings(request.plate, held)
        base = answer.base(request)
        limit = self.city.settings.max_snap_m
        points = {
            "origin": self.projection.point(request.origin.lon, request.origin.lat),
            "destination": self.projection.point(request.destination.lon, request.destination.lat),
        }
        outside = [end for end, (x, y) in points.items() if not self.net.on_map(x, y, limit)]
        if outside:
            return answer.outside_map(base, outside, limit)
        snaps = {end: self._snap(x, y, load) for end, (x, y) in points.items()}
        moved = {end: None if s is None else round(s.distance_m, 1) for end, s in snaps.items()}
        far = {
            end: None if s is None else s.distance_m for end, s in snaps.items() if s is None or s.distance_m > limit
        }
        if far:
            return answer.no_road_nearby(base, far, limit, moved)
        origin, target = snaps["origin"], snaps["destination"]
        assert origin is not None
        assert target is not None
        kind = request.optimize
        self._note_use(request.plate, load, kind)
        found, reasons = self._attempt(load, origin, target, kind, request.depart_at, openings)
        if found is None:
            earliest = self._earliest_departure(load, origin, target, kind, request.depart_at, openings)
            return answer.no_permitted_route(base, reasons, earliest, moved)
        self.recheck(found, load, request.depart_at, held, request.plate)
        depart_s = request.depart_at.timestamp()
        used = set(self.passes_used(found, load, depart_s, openings)) if openings else set()
        if openings:
            arrive = request.depart_at + timedelta(seconds=found.duration_s)
            used |= self._ends_opened([(origin.x, origin.y)], load, request.depart_at, openings)
            used |= self._ends_opened([(target.x, target.y)], load, arrive, openings)
        return Route(
            **base,
            status="ok",
            length_m=round(found.length_m, 1),
            duration_s=round(found.duration_s, 1),
            # built here as the field's type (float pairs from the map's arrays): validating a province route's
            # thousands of pairs again would cost more than joining them
            geometry=GeoLine.model_construct(coordinates=self.net.coordinates(found, (origin.lon, origin.lat))),
            avoided=reasons,
            arrive_at=request.depart_at + timedelta(seconds=round(found.duration_s)),
            origin_snap_m=moved["origin"],
            destination_snap_m=moved["destination"],
            passes_used=sorted(used),
        )

    def _holding(self, x: float, y: float, load: Load, at: datetime) -> list[int]:
        """The zones (indices) that apply to the load, active at ``at``, and close the point (metres), passes aside.

        A designated area closes it only off its designated roads (farther than ``match_m``).
        """
        zones, b, applying = self.zones, self.zone_bounds, self._applies(load)[1]
        boxed = np.flatnonzero((b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3])).tolist()
        return [z for z in boxed if z in applying and zones[z].active(at) and zones[z].closes(Point(x, y))]

    def _inside(self, x: float, y: float, load: Load, at: datetime, openings: Openings = NO_OPENINGS) -> list[Zone]:
        """The zones that hold the point (:meth:`_holding`) and no pass opens there at ``at``."""
        found = self._holding(x, y, load, at)
        if openings:
            t = at.timestamp()
            found = [z for z in found if self.open_shapes.closes(z, Point(x, y), openings.state(z, t))]
        return [self.zones[z] for z in found]

    def _attempt(
        self, load: Load, origin: Snap, target: Snap, kind: str, depart: datetime, openings: Openings = NO_OPENINGS
    ) -> tuple[Path | None, list[Avoided]]:
        """The permitted route, or ``None``; with what the unrestricted route breaks (``avoided``, or ``blocked_by``).

        The unrestricted route (from the same snapped points) comes first: when it breaks
        nothing it is the answer (optimal among all routes, so among the permitted ones), and
        the restricted search is skipped.
        """
        ends = self._inside(origin.x, origin.y, load, depart, openings)
        ends += [z for z in self._inside(target.x, target.y, load, depart, openings) if z not in ends]
        if ends:
            return None, [zone_reason(z) for z in ends]
        free = self._fast(origin, target, depart, None, kind)
        if not isinstance(free, Path):
            return None, []  # no road at all between the two
        broken = self.violations(free, load, depart.timestamp(), openings)
        if not broken:
            return free, []
        fast = self._fast(origin, target, depart, load, kind, openings)
        if isinstance(fast, ZoneSwitches):  # the time-dependent search decides
            return self._timed(origin, target, depart, load, kind, openings), broken
        return (fast if isinstance(fast, Path) else None), broken

    def _earliest_departure(
        self, load: Load, origin: Snap, target: Snap, kind: str, depart: datetime, openings: Openings = NO_OPENINGS
    ) -> datetime | None:
        """The first later departure within 24 h that has a permitted route (a window's end, or a pass's start,
        when one blocks)."""
        for candidate in self._later_departures(load, depart, openings):
            found, _ = self._attempt(load, origin, target, kind, candidate, openings)
            if found is not None:
                return candidate
        return None

    def _later_departures(self, load: Load, depart: datetime, openings: Openings = NO_OPENINGS) -> list[datetime]:
        """When a windowed zone that applies to the load ends, or a pass starts, within 24 h: the only moments
        things change for the better."""
        zones = self.zones
        moments = {
            end.astimezone(depart.tzinfo)
            for z in self.applying(load)
            if zones[z].windows is not None
            for end in zones[z].ends_within(depart)
        }
        first, last = depart.timestamp(), depart.timestamp() + 24 * 3600
        moments |= {
            datetime.fromtimestamp(t, depart.tzinfo)
            for t in (openings.starts() if openings else ())
            if first < t <= last
        }
        return sorted(moments)
