"""The independent re-check of every answer: no search, no zone index, no cached matching.

Whatever the searches did, a route that enters a zone active when the vehicle gets there
(in a designated area: strays from its designated roads), or uses a road the map closes to
the load, raises :class:`RouteViolation` instead of being returned. Only edges whose bounding box meets a zone's are handed to shapely (a box that
misses cannot intersect, and most zones are nowhere near a given route); the shapes are exact.

A route that starts or ends mid-edge drives only part of its first and last edges: that part,
cut here with shapely's own ``substring`` (not the router's cutting code), is what is tested
against the zones, as routing.md says (the part actually driven). Testing the whole edge
would refuse a destination on a street whose far end enters a zone the vehicle never
reaches. The road-tag check takes the whole edge: a road the map closes is closed along all
of its length and never a snap target, so driving any part of it is a violation.

A piece a zone closes is allowed only when one of the vehicle's own passes, valid when it
gets there, names that zone and opens it there (wholly, or within the zone's ``match_m`` of
the pass's route, projected here from the pass itself): never a water-source zone, whatever
a pass says.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from hazmat.events import Pass
from hazmat.zone_kinds import PASSABLE_KINDS

from .geo import Projection
from .network import Path, RoadNetwork
from .policy import Load, static_reason
from .restrictions import CityRoadRules
from .zones import Zone, corridor


class RouteViolation(AssertionError):  # noqa: N818  (a violation, not an ordinary error)
    """A route crossed an active zone or a closed road: a bug in the search, reported loudly."""


def recheck(
    net: RoadNetwork,
    zones: Sequence[Zone],
    zone_bounds: np.ndarray,
    found: Path,
    load: Load,
    depart: datetime,
    rules: CityRoadRules,
    *,
    passes: Sequence[Pass] = (),
    plate: str = "",
) -> None:
    if not len(found):
        return
    edges = found.arcs
    begin = depart.timestamp()
    for z, near in _near(np.take(net.projected_bounds, edges, axis=0), zone_bounds):  # a row gather, as fast as 1-D
        zone = zones[z]
        if not zone.applies(load.classes, load.un_numbers):  # its own test, not the router's cache
            continue
        if zone.windows is not None:
            entry_s = found.entries[near].tolist()
            near = near[np.array([zone.active_at_epoch(begin + entry) for entry in entry_s], dtype=bool)]
        if not len(near):
            continue
        candidates = near.tolist()
        pieces = _driven(net, found, candidates)
        hits = zone.closing(pieces)  # a designated area: off its roads
        for n in np.flatnonzero(hits).tolist():
            k = candidates[n]
            at = depart + timedelta(seconds=found.entry(k))
            if _opened(zone, pieces[n], at, passes, plate, net.projection):
                continue
            what = f"leaves the designated roads of {zone.id}" if zone.designated else f"enters zone {zone.id}"
            msg = f"route {what} on edge {found.edge(k)} at {at.isoformat()}: a routing bug"
            raise RouteViolation(msg)
    for i in edges[net.restricted_mask[edges]].tolist():  # an edge without restriction tags has no reason
        reason = static_reason(net.tags(i), load, rules=rules)
        if reason is not None:
            msg = f"route uses a closed road on edge {i}: {reason.reason_en}"
            raise RouteViolation(msg)


#: consecutive edges of a route whose joint bounding box is tested against the zones' before their own
CHUNK = 32


def _near(boxes: np.ndarray, zone_bounds: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Each zone (ascending) whose bounding box meets some edge's box, with those edges' positions (ascending).

    Runs of :data:`CHUNK` edges are tested first by their joint box (an edge's box lies in it), so a route of
    thousands of edges is tested edge by edge only near the few zones it passes.
    """
    starts = np.arange(0, len(boxes), CHUNK)
    chunks = np.column_stack(
        [
            np.minimum.reduceat(boxes[:, 0], starts),
            np.minimum.reduceat(boxes[:, 1], starts),
            np.maximum.reduceat(boxes[:, 2], starts),
            np.maximum.reduceat(boxes[:, 3], starts),
        ]
    )
    meets = _overlap(chunks[:, None, :], zone_bounds[None, :, :])  # chunks × zones
    for z in np.flatnonzero(meets.any(axis=0)).tolist():
        positions = np.concatenate([np.arange(c, min(c + CHUNK, len(boxes))) for c in starts[meets[:, z]].tolist()])
        near = positions[_overlap(np.take(boxes, positions, axis=0), zone_bounds[z])]
        if len(near):
            yield z, near


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Do boxes (minx, miny, maxx, maxy, along the last axis) meet (touching counts)?"""
    return (a[..., 0] <= b[..., 2]) & (a[..., 2] >= b[..., 0]) & (a[..., 1] <= b[..., 3]) & (a[..., 3] >= b[..., 1])


def _opened(
    zone: Zone, piece: BaseGeometry, at: datetime, passes: Sequence[Pass], plate: str, projection: Projection
) -> bool:
    """Does a pass of ``plate`` valid at ``at`` open ``zone`` where ``piece`` (metres) lies?"""
    if zone.kind not in PASSABLE_KINDS:  # a water source: no pass opens it
        return False
    valid = [p for p in passes if p.plate == plate and zone.id in p.zone_ids and p.valid_from <= at < p.valid_until]
    if not valid:
        return False
    if any(p.route is None for p in valid):
        return True
    lines = tuple(sorted({tuple(p.route.coordinates) for p in valid if p.route}))
    return not zone.closes(piece, _along(zone, lines, projection))


#: the open parts of zones along pass routes the re-check built, newest last (a few: passes in use are few)
_ALONG: OrderedDict[tuple[Zone, Any, int], BaseGeometry] = OrderedDict()
ALONG_KEPT = 64


def _along(zone: Zone, lines: tuple[tuple[tuple[float, float], ...], ...], projection: Projection) -> BaseGeometry:
    """What stays open in ``zone`` along these pass routes (lon/lat): within its ``match_m``, or on its roads.

    Built from the passes themselves (not the router's shapes), once per zone and routes: every piece of a
    route through an opened zone asks, and a corridor of a long route takes milliseconds to buffer.
    """
    key = (zone, lines, projection.epsg)
    allowed = _ALONG.get(key)
    if allowed is None:
        routes = shapely.union_all([projection.to_metric(LineString(line)) for line in lines])
        allowed = corridor(routes, zone.match_m)
        if zone.corridor is not None:
            allowed = shapely.union(zone.corridor, allowed)
            shapely.prepare(allowed)
        _ALONG[key] = allowed
        if len(_ALONG) > ALONG_KEPT:
            _ALONG.popitem(last=False)
    return allowed


def _driven(net: RoadNetwork, found: Path, positions: list[int]) -> np.ndarray:
    """The geometry (metres) of the part of each of these path positions' edges that the route drives."""
    geoms = net.projected_array[found.arcs[positions]].copy()
    for n, k in enumerate(positions):
        lo, hi = found.span(k)
        if lo > 0.0 or hi < 1.0:
            geoms[n] = substring(net.projected[found.edge(k)], lo, hi, normalized=True)
    return geoms
