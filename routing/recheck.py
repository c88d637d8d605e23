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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from shapely.ops import substring

from .network import Path, RoadNetwork
from .policy import Load, static_reason
from .restrictions import CityRoadRules
from .zones import Zone


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
) -> None:
    if not found.edges:
        return
    edges = np.asarray(found.edges)
    boxes, zb = net.projected_bounds[edges][:, None, :], zone_bounds[None, :, :]  # edges × zones
    overlap = (
        (boxes[..., 0] <= zb[..., 2])
        & (boxes[..., 2] >= zb[..., 0])
        & (boxes[..., 1] <= zb[..., 3])
        & (boxes[..., 3] >= zb[..., 1])
    )
    start = depart.timestamp()
    for z in np.flatnonzero(overlap.any(axis=0)).tolist():
        zone, near = zones[z], overlap[:, z]
        if not zone.applies(load.classes, load.un_numbers):  # its own test, not the router's cache
            continue
        if zone.windows is not None:
            near &= np.array([zone.active_at_epoch(start + entry) for entry in found.entry_s], dtype=bool)
        (candidates,) = np.nonzero(near)
        if not len(candidates):
            continue
        hits = zone.closing(_driven(net, found, candidates.tolist()))  # a designated area: off its roads
        if hits.any():
            k = int(candidates[int(np.argmax(hits))])
            at = depart + timedelta(seconds=found.entry_s[k])
            what = f"leaves the designated roads of {zone.id}" if zone.designated else f"enters zone {zone.id}"
            msg = f"route {what} on edge {found.edges[k]} at {at.isoformat()}: a routing bug"
            raise RouteViolation(msg)
    for i in found.edges:
        if i not in net.restricted_set:  # an edge without restriction tags has no reason
            continue
        reason = static_reason(net.data[i], load, rules=rules)
        if reason is not None:
            msg = f"route uses a closed road on edge {i}: {reason.reason_en}"
            raise RouteViolation(msg)


def _driven(net: RoadNetwork, found: Path, positions: list[int]) -> np.ndarray:
    """The geometry (metres) of the part of each of these path positions' edges that the route drives."""
    geoms = net.projected_array[np.asarray(found.edges)[positions]].copy()
    for n, k in enumerate(positions):
        lo, hi = found.span(k)
        if lo > 0.0 or hi < 1.0:
            geoms[n] = substring(net.projected[found.edges[k]], lo, hi, normalized=True)
    return geoms
