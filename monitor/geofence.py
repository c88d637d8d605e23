"""Geofences built once: zones in an STRtree, each issued route as a prepared corridor.

A ping then costs a tree query and a few prepared-geometry tests: microseconds, not a scan
of every zone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import shapely
from shapely import STRtree, prepare
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from routing.geo import Projection
from routing.zones import Zone


class Geofence:
    def __init__(
        self, zones: Sequence[Zone], projection: Projection, *, fast_roads: Sequence[BaseGeometry] = ()
    ) -> None:
        self.zones = list(zones)
        self.projection = projection
        self._tree = STRtree([z.metric for z in self.zones]) if self.zones else None
        self._fast = STRtree(list(fast_roads)) if fast_roads else None
        self._corridors: OrderedDict[str, BaseGeometry] = OrderedDict()

    def point(self, lon: float, lat: float) -> Point:
        return Point(self.projection.point(lon, lat))

    #: a ping this close to a zone's edge is on the border, and the border belongs to the zone
    BORDER_M = 0.5

    def zones_at(self, p: Point) -> list[Zone]:
        """Zones whose (buffered) shape contains the point or has it on its border; activity is the caller's."""
        if self._tree is None:
            return []
        return [self.zones[int(i)] for i in self._tree.query(p, predicate="dwithin", distance=self.BORDER_M)]

    def on_fast_road(self, p: Point, within_m: float = 30.0) -> bool:
        if self._fast is None:
            return False
        return len(self._fast.query(p, predicate="dwithin", distance=within_m)) > 0

    def route_distance_m(self, route_id: str, coordinates: Sequence[Sequence[float]], p: Point) -> float:
        line = self._corridors.get(route_id)
        if line is None:
            line = self.projection.to_metric(LineString(coordinates))
            prepare(line)
            self._corridors[route_id] = line
            if len(self._corridors) > 5000:  # keep memory bounded: forget the oldest routes
                self._corridors.popitem(last=False)
        return float(shapely.distance(line, p))
