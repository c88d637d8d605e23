"""Geofences built once: zones filed in a grid, each issued route as a prepared corridor.

A ping then costs a dict lookup and a few prepared-geometry tests: microseconds, not a scan
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
    #: a ping this close to a zone's edge is on the border, and the border belongs to the zone
    BORDER_M = 0.5
    #: side of the grid cells that map a ping to its candidate zones
    CELL_M = 500.0

    def __init__(
        self, zones: Sequence[Zone], projection: Projection, *, fast_roads: Sequence[BaseGeometry] = ()
    ) -> None:
        self.zones = list(zones)
        self.projection = projection
        self._fast = STRtree(list(fast_roads)) if fast_roads else None
        self._corridors: OrderedDict[str, BaseGeometry] = OrderedDict()
        # each zone, grown by the border tolerance and prepared, filed under every grid cell its box
        # covers: a ping then costs one dict lookup and an exact point-in-polygon test per candidate
        self._shapes: list[BaseGeometry] = []
        self._cells: dict[tuple[int, int], list[int]] = {}
        for i, zone in enumerate(self.zones):
            grown = zone.metric.buffer(self.BORDER_M)
            prepare(grown)
            self._shapes.append(grown)
            x0, y0, x1, y1 = grown.bounds
            for cx in range(int(x0 // self.CELL_M), int(x1 // self.CELL_M) + 1):
                for cy in range(int(y0 // self.CELL_M), int(y1 // self.CELL_M) + 1):
                    self._cells.setdefault((cx, cy), []).append(i)

    def point(self, lon: float, lat: float) -> Point:
        return Point(self.projection.point(lon, lat))

    def zones_at(self, p: Point) -> list[Zone]:
        """Zones whose (buffered) shape contains the point or has it on its border; activity is the caller's."""
        x, y = p.x, p.y
        candidates = self._cells.get((int(x // self.CELL_M), int(y // self.CELL_M)), ())
        return [self.zones[i] for i in candidates if shapely.intersects_xy(self._shapes[i], x, y)]

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
