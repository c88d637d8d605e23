"""Geofences built once: zones and fast roads filed in a grid, each issued route as a corridor.

A ping then costs a dict lookup and a few prepared point-in-polygon tests on plain
coordinates (no shapely Point per ping, which alone costs more than the tests): microseconds,
not a scan of every zone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import shapely
from shapely import prepare
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from hazmat.events import Pass
from hazmat.routing.geo import Projection
from hazmat.routing.zones import Zone


def _file(cells: dict[tuple[int, int], list[int]], i: int, shape: BaseGeometry, cell_m: float) -> None:
    """File ``i`` under every grid cell the shape's bounding box covers."""
    x0, y0, x1, y1 = shape.bounds
    for cx in range(int(x0 // cell_m), int(x1 // cell_m) + 1):
        for cy in range(int(y0 // cell_m), int(y1 // cell_m) + 1):
            cells.setdefault((cx, cy), []).append(i)


class Geofence:
    #: a ping this close to a zone's edge is on the border, and the border belongs to the zone
    BORDER_M = 0.5
    #: side of the grid cells that map a ping to its candidate zones
    CELL_M = 500.0
    #: a ping this close to a motorway or trunk is on it (the higher speed cap applies)
    FAST_ROAD_M = 30.0
    #: side of the grid cells of the fast roads (shorter: a cell then holds few road pieces)
    FAST_CELL_M = 200.0
    #: issued routes whose corridors are kept (the oldest are forgotten beyond this)
    CORRIDORS = 5000

    def __init__(
        self, zones: Sequence[Zone], projection: Projection, *, fast_roads: Sequence[BaseGeometry] = ()
    ) -> None:
        self.zones = list(zones)
        self._by_id = {z.id: z for z in self.zones}
        self.projection = projection
        self._corridors: OrderedDict[tuple[str, float], tuple[BaseGeometry, BaseGeometry]] = OrderedDict()
        self._pass_routes: OrderedDict[tuple[tuple[float, ...], ...], BaseGeometry] = OrderedDict()
        # each zone, grown by the border tolerance and prepared, filed under every grid cell its box
        # covers: a ping then costs one dict lookup and an exact point-in-polygon test per candidate
        self._shapes: list[BaseGeometry] = []
        self._cells: dict[tuple[int, int], list[int]] = {}
        for i, zone in enumerate(self.zones):
            grown = zone.metric.buffer(self.BORDER_M)
            prepare(grown)
            self._shapes.append(grown)
            _file(self._cells, i, grown, self.CELL_M)
        # fast roads as their FAST_ROAD_M buffers (the buffer's arcs are chords: within ~0.6 m of exact)
        self._fast: list[BaseGeometry] = list(shapely.buffer(list(fast_roads), self.FAST_ROAD_M)) if fast_roads else []
        self._fast_cells: dict[tuple[int, int], list[int]] = {}
        for i, shape in enumerate(self._fast):
            prepare(shape)
            _file(self._fast_cells, i, shape, self.FAST_CELL_M)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """A ping's position in the city's metric projection."""
        return self.projection.point(lon, lat)

    def zones_at(self, x: float, y: float) -> list[Zone]:
        """Zones whose (buffered) shape contains the point or has it on its border; activity is the caller's."""
        candidates = self._cells.get((int(x // self.CELL_M), int(y // self.CELL_M)), ())
        return [self.zones[i] for i in candidates if shapely.intersects_xy(self._shapes[i], x, y)]

    def zone(self, zone_id: str) -> Zone | None:
        """The zone of that id (``None``: no longer configured)."""
        return self._by_id.get(zone_id)

    def off_roads_m(self, zone: Zone, x: float, y: float) -> float:
        """How far the point lies from a designated area's nearest designated road (exact; inf: it has none)."""
        if zone.road_lines is None:
            return float("inf")
        return float(shapely.distance(zone.road_lines, Point(x, y)))

    def pass_route_m(self, granted: Pass, x: float, y: float) -> float:
        """How far the point lies from a pass's route (exact; inf: the pass has none)."""
        if granted.route is None:
            return float("inf")
        key = tuple(map(tuple, granted.route.coordinates))
        line = self._pass_routes.get(key)
        if line is None:
            line = self._pass_routes[key] = self.projection.to_metric(LineString(granted.route.coordinates))
            prepare(line)
            if len(self._pass_routes) > self.CORRIDORS:
                self._pass_routes.popitem(last=False)
        return float(shapely.distance(line, Point(x, y)))

    def on_fast_road(self, x: float, y: float) -> bool:
        candidates = self._fast_cells.get((int(x // self.FAST_CELL_M), int(y // self.FAST_CELL_M)), ())
        return any(shapely.intersects_xy(self._fast[i], x, y) for i in candidates)

    def off_route_m(
        self, route_id: str, coordinates: Sequence[Sequence[float]], x: float, y: float, corridor_m: float
    ) -> float | None:
        """``None`` when the point is within ``corridor_m`` of the route, else its exact distance from it.

        The corridor polygon (the route buffered, prepared, kept per route) answers the common
        case, a vehicle on its route, with one point-in-polygon test; its arcs are chords, so a
        point outside it may still be within the corridor, and the exact distance decides.
        """
        key = (route_id, corridor_m)
        kept = self._corridors.get(key)
        if kept is None:
            line = self.projection.to_metric(LineString(coordinates))
            corridor = line.buffer(corridor_m)
            prepare(line)
            prepare(corridor)
            kept = self._corridors[key] = (line, corridor)
            if len(self._corridors) > self.CORRIDORS:  # keep memory bounded: forget the oldest routes
                self._corridors.popitem(last=False)
        line, corridor = kept
        if shapely.intersects_xy(corridor, x, y):
            return None
        distance = float(shapely.distance(line, Point(x, y)))
        return None if distance <= corridor_m else distance
