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

The parts: ``network`` (the edges as flat arrays, snapping, paths), ``metrics`` (the CCH
topologies and the cache of customised metrics), ``tdsearch`` (the time-dependent search),
``recheck`` (the independent check) and ``answer`` (the refusals' wording); this module
decides which search answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry import Point

from hazmat.cityconfig import City, ZoneFeature
from hazmat.events import Avoided, Route, RouteRequest
from hazmat.events import LineString as GeoLine

from . import answer, tdsearch
from .metrics import INF, Metrics
from .network import Path, RoadNetwork
from .policy import Load, static_reason, zone_reason
from .recheck import RouteViolation, recheck
from .restrictions import CityRoadRules, osm_water_sources
from .zones import Zone, ZoneIndex, load_zones

__all__ = ["MAX_SNAP_M", "RouteViolation", "Router"]

#: an origin or destination farther than this from every road is outside the map
MAX_SNAP_M = 2000.0
#: a distance-optimal trip is assumed to end within this many hours (zone states are checked over it)
DISTANCE_HORIZON_S = 6 * 3600


@dataclass(frozen=True)
class NoPath:
    """No path exists with these closures."""


@dataclass(frozen=True)
class ZoneSwitches:
    """An applicable zone opens or closes during the trip: the CCH answer is not exact."""

    zone_id: str


#: what the fast (CCH) search answers
Fast = Path | NoPath | ZoneSwitches


class Router:
    """A city's road graph and zones, ready to answer route requests."""

    def __init__(self, graph: nx.MultiDiGraph, city: City, *, zones: Sequence[ZoneFeature] | None = None) -> None:
        self.city = city
        self.graph = graph
        self.road_rules = CityRoadRules(untagged_tunnel_forbidden=city.city.untagged_tunnel_policy == "forbidden")
        self.net = RoadNetwork(graph)
        self.projection = self.net.projection
        self.metrics = Metrics(self.net)
        self._static: dict[tuple[Any, ...], frozenset[int]] = {}
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
        self.edge_zones = ZoneIndex(zones).meeting(self.net.projected)
        self.zone_edges: list[list[int]] = [[] for _ in zones]
        for i, zs in enumerate(self.edge_zones):
            for z in zs:
                self.zone_edges[z].append(i)
        self.metrics.clear()
        self._applying: dict[Load, tuple[tuple[int, ...], frozenset[int]]] = {}

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
        self._static.clear()
        self.metrics.clear()

    # --- closures ---------------------------------------------------------------------

    def _static_blocked(self, load: Load) -> frozenset[int]:
        """The edges the map closes to this load (cached per load and city rules)."""
        key = (load, self.road_rules)
        if key not in self._static:
            data = self.net.data
            self._static[key] = frozenset(
                i for i in self.net.restricted if static_reason(data[i], load, rules=self.road_rules)
            )
        return self._static[key]

    def _blocker(self, load: Load) -> tdsearch.Blocked:
        static, applying = self._static_blocked(load), self._applies(load)[1]
        zones, edge_zones = self.zones, self.edge_zones

        def blocked(i: int, epoch_s: float) -> bool:
            if i in static:
                return True
            near = edge_zones[i]
            return bool(near) and any(z in applying and zones[z].active_at_epoch(epoch_s) for z in near)

        return blocked

    # --- searches ---------------------------------------------------------------------

    def _fast(self, src: int, dst: int, depart: datetime, load: Load | None, kind: str) -> Fast:
        """The CCH answer, exact unless an applicable zone switches during the trip."""
        if load is None:
            found = self.metrics.get(kind, ("free",), frozenset).query(src, dst)
            return NoPath() if found[0] >= INF else self.net.path(found[2])
        applying = self.applying(load)
        active = frozenset(z for z in applying if self.zones[z].active(depart))

        def closing() -> frozenset[int]:
            return self._static_blocked(load).union(*(self.zone_edges[z] for z in active))

        metric = self.metrics.get(kind, (load, self.road_rules, active), closing)
        distance, _nodes, arcs = metric.query(src, dst)
        found: Path | NoPath = NoPath() if distance >= INF else self.net.path(arcs)
        horizon = found.duration_s if isinstance(found, Path) and kind == "time" else DISTANCE_HORIZON_S
        start = int(depart.timestamp() // 60)
        for z in applying:
            zone = self.zones[z]
            if zone.windows is not None and any(
                zone.active_at_epoch(m * 60) != (z in active) for m in range(start, start + int(horizon // 60) + 2)
            ):
                return ZoneSwitches(zone.id)
        return found

    def violations(self, found: Path, load: Load, depart_s: float) -> list[Avoided]:
        """Every restriction a path breaks, in path order, each named once."""
        out: dict[str, Avoided] = {}
        static, applying, edge_zones = self._static_blocked(load), self._applies(load)[1], self.edge_zones
        for i, entry in zip(found.edges, found.entry_s, strict=True):
            if i in static:
                reason = static_reason(self.net.data[i], load, rules=self.road_rules)
                if reason is not None:
                    out.setdefault(f"{reason.kind}:{reason.reason_en}", reason)
            for z in edge_zones[i]:
                zone = self.zones[z]
                if z in applying and zone.active_at_epoch(depart_s + entry):
                    out.setdefault(f"zone:{zone.id}", zone_reason(zone))
        return list(out.values())

    def recheck(self, found: Path, load: Load, depart: datetime) -> None:
        """Independent check against the exact zone shapes (:mod:`routing.recheck`)."""
        recheck(self.net, self.zones, self.zone_bounds, found, load, depart, self.road_rules)

    # --- the answer -------------------------------------------------------------------

    def plan(self, request: RouteRequest, *, load: Load | None = None) -> Route:
        load = load or Load.of(request.load, self.city.rules.tunnel_codes)
        base = answer.base(request)
        origin, o_dist = self.net.snap(request.origin.lon, request.origin.lat)
        target, d_dist = self.net.snap(request.destination.lon, request.destination.lat)
        if o_dist > MAX_SNAP_M or d_dist > MAX_SNAP_M:
            return answer.outside_map(base, "origin" if o_dist > MAX_SNAP_M else "destination", MAX_SNAP_M)
        kind = request.optimize
        found, reasons = self._attempt(request, load, origin, target, kind, request.depart_at)
        if found is None:
            earliest = self._earliest_departure(request, load, origin, target, kind)
            return answer.no_permitted_route(base, reasons, earliest)
        self.recheck(found, load, request.depart_at)
        return Route(
            **base,
            status="ok",
            length_m=round(found.length_m, 1),
            duration_s=round(found.duration_s, 1),
            geometry=GeoLine(coordinates=self.net.coordinates(found.edges, origin)),
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
    ) -> tuple[Path | None, list[Avoided]]:
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
        if not isinstance(free, Path):
            return None, []  # no road at all between the two
        broken = self.violations(free, load, depart.timestamp())
        if not broken:
            return free, []
        fast = self._fast(origin, target, depart, load, kind)
        if isinstance(fast, ZoneSwitches):  # the time-dependent search decides
            weight = self.net.time if kind == "time" else self.net.length
            bound = self.metrics.potentials(target, kind)
            return tdsearch.search(
                self.net, origin, target, depart.timestamp(), weight, self._blocker(load), bound
            ), broken
        return (fast if isinstance(fast, Path) else None), broken

    def _earliest_departure(
        self, request: RouteRequest, load: Load, origin: int, target: int, kind: str
    ) -> datetime | None:
        """The first later departure within 24 h that has a permitted route (a window's end, when one blocks)."""
        for candidate in self._later_departures(load, request.depart_at):
            found, _ = self._attempt(request, load, origin, target, kind, candidate)
            if found is not None:
                return candidate
        return None

    def _later_departures(self, load: Load, depart: datetime) -> list[datetime]:
        """When a windowed zone that applies to the load ends within 24 h: the only moments things change."""
        zones = self.zones
        moments = {
            end.astimezone(depart.tzinfo)
            for z in self.applying(load)
            if zones[z].windows is not None
            for end in zones[z].ends_within(depart)
        }
        return sorted(moments)
