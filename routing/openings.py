"""What police passes open for one route request (routing.md item 6): which zones, when, and where.

A valid pass opens its zones to its plate: wholly, or only along its route (within the zone's
``match_m``; in a designated area the route adds to the designated roads). At a moment a
zone's *state* is therefore ``None`` (open: a pass opens it wholly), or the set of pass routes
it is open along (empty: closed wholly, as without any pass). The router keys its customised
metrics by (zone, state), never by pass id, so two vehicles with equivalent passes share one;
and a pass that starts or ends during the trip is a moment the state changes, exactly like a
window's end.

:class:`OpenShapes` (one per zone set) keeps what the states cost to compute: the pass routes
in metres, what of a zone stays open along them, and the edges it still closes, each once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from hazmat.events import Pass, PassRoute
from hazmat.zone_kinds import PASSABLE_KINDS

from .geo import Projection
from .network import RoadNetwork
from .zones import Zone, corridor

#: a pass route's identity: its coordinates (two passes along one line share what it opens)
RouteKey = tuple[tuple[float, float], ...]
#: a zone's state at a moment: ``None`` open; else the routes it is open along (empty: closed wholly)
State = frozenset[RouteKey] | None
CLOSED: frozenset[RouteKey] = frozenset()
#: pass routes, open shapes and closed-edge sets kept per zone set (the oldest go first)
SHAPES_KEPT = 256


def route_key(route: PassRoute) -> RouteKey:
    """The route's coordinates as a tuple: built per request, so one C-level copy, no per-point Python."""
    return tuple(route.coordinates)


@dataclass(frozen=True)
class Opening:
    """One pass's opening of one zone: from when, until when (epoch seconds), and where (``None``: wholly)."""

    pass_id: str
    start_s: float
    end_s: float
    route: RouteKey | None

    def valid(self, epoch_s: float) -> bool:
        return self.start_s <= epoch_s < self.end_s


class Openings:
    """One vehicle's passes as openings per zone (index); no passes: every zone closed wholly when active."""

    def __init__(self, by_zone: Mapping[int, Sequence[Opening]] | None = None) -> None:
        self.by_zone: dict[int, tuple[Opening, ...]] = {z: tuple(ops) for z, ops in (by_zone or {}).items() if ops}

    def __bool__(self) -> bool:
        return bool(self.by_zone)

    def state(self, z: int, epoch_s: float) -> State:
        """What of zone ``z`` the passes leave closed at that moment (the zone's own activity is the caller's)."""
        ops = self.by_zone.get(z)
        if not ops:
            return CLOSED
        routes = []
        for o in ops:
            if o.valid(epoch_s):
                if o.route is None:
                    return None
                routes.append(o.route)
        return frozenset(routes)

    def valid(self, z: int, epoch_s: float) -> list[Opening]:
        return [o for o in self.by_zone.get(z, ()) if o.valid(epoch_s)]

    def moments(self, z: int) -> list[float]:
        """When the passes of zone ``z`` start or end (the only moments, besides windows, its state changes)."""
        return sorted({t for o in self.by_zone.get(z, ()) for t in (o.start_s, o.end_s)})

    def starts(self) -> list[float]:
        """When any of these passes starts."""
        return sorted({o.start_s for ops in self.by_zone.values() for o in ops})


def openings_of(passes: Iterable[Pass], plate: str, zones: Sequence[Zone], zone_at: Mapping[str, int]) -> Openings:
    """The openings of ``plate``'s passes among ``passes``: zones unknown here, or that no pass may open (a water
    source), are left out, whatever the pass says (they were refused when it was issued; the router checks again)."""
    by_zone: dict[int, list[Opening]] = {}
    for granted in passes:
        if granted.plate != plate:
            continue
        key = None if granted.route is None else route_key(granted.route)
        start, end = granted.valid_from.timestamp(), granted.valid_until.timestamp()
        for zone_id in dict.fromkeys(granted.zone_ids):
            z = zone_at.get(zone_id)
            if z is not None and zones[z].kind in PASSABLE_KINDS:
                by_zone.setdefault(z, []).append(Opening(granted.pass_id, start, end, key))
    return Openings({z: sorted(ops, key=lambda o: o.pass_id) for z, ops in by_zone.items()})


class OpenShapes:
    """For one zone set: what pass routes keep open in each zone, and the edges the zone still closes."""

    def __init__(
        self, net: RoadNetwork, projection: Projection, zones: Sequence[Zone], zone_edges: Sequence[list[int]]
    ):
        self.net, self.projection, self.zones, self.zone_edges = net, projection, zones, zone_edges
        self._lines: OrderedDict[RouteKey, BaseGeometry] = OrderedDict()
        self._allowed: OrderedDict[tuple[int, frozenset[RouteKey]], BaseGeometry] = OrderedDict()
        self._closed: OrderedDict[tuple[int, frozenset[RouteKey]], frozenset[int]] = OrderedDict()

    def line(self, key: RouteKey) -> BaseGeometry:
        """A pass route in metres."""
        return _kept(self._lines, key, lambda: self.projection.to_metric(LineString(key)))

    def allowed(self, z: int, routes: frozenset[RouteKey]) -> BaseGeometry:
        """What stays open in zone ``z`` along these routes: within its ``match_m`` of them, or of its designated roads."""

        def build() -> BaseGeometry:
            zone = self.zones[z]
            along = corridor(shapely.union_all([self.line(k) for k in sorted(routes)]), zone.match_m)
            if zone.corridor is None:
                return along
            both = shapely.union(zone.corridor, along)
            shapely.prepare(both)
            return both

        return _kept(self._allowed, (z, routes), build)

    def closed_edges(self, z: int, routes: frozenset[RouteKey]) -> frozenset[int]:
        """The edges zone ``z`` closes while open along ``routes`` (a subset of those it closes without them)."""

        def build() -> frozenset[int]:
            candidates = np.asarray(self.zone_edges[z], dtype=np.int64)
            if not len(candidates):
                return frozenset()
            shut = self.zones[z].closing(self.net.projected_array[candidates], self.allowed(z, routes))
            return frozenset(candidates[shut].tolist())

        return _kept(self._closed, (z, routes), build)

    def closes(self, z: int, piece: BaseGeometry, state: State) -> bool:
        """Does zone ``z``, active, in this state, close this piece of road (metres)?"""
        if state is None:
            return False
        zone = self.zones[z]
        return zone.closes(piece) if not state else zone.closes(piece, self.allowed(z, state))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _kept(cache: OrderedDict[K, V], key: K, build: Callable[[], V]) -> V:
    """``cache[key]``, built on a miss; the oldest entry goes beyond :data:`SHAPES_KEPT`."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = build()
        if len(cache) > SHAPES_KEPT:
            cache.popitem(last=False)
    return found


#: no passes: every zone closed wholly while active
NO_OPENINGS = Openings()
