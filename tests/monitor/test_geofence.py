"""The geofence's fast answers (corridor polygon, buffered fast roads) agree with exact distances."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from shapely.geometry import LineString, Point

from hazmat.events import Position
from hazmat.monitor.geofence import Geofence
from hazmat.monitor.judge import MonitorSettings, judge_position
from hazmat.monitor.state import LoadInfo, VehicleState
from hazmat.routing.geo import Projection

PROJ = Projection.around(104.06, 30.66)
X0, Y0 = PROJ.point(104.06, 30.66)
AT = datetime.fromisoformat("2026-11-26T10:00:00+08:00")


def lonlat(dx: float, dy: float) -> tuple[float, float]:
    """The point dx, dy metres from the origin, in lon/lat."""
    lon, lat = PROJ.backward.transform(X0 + dx, Y0 + dy)
    return float(lon), float(lat)


ROUTE = [lonlat(0, 0), lonlat(1000, 0)]  # 1 km due east


@pytest.mark.parametrize(
    ("dx", "dy", "beyond"),
    [
        (500, 150, None),  # beside the route, inside the corridor
        (500, -199, None),
        (500, 260, 260),  # beyond it: the exact distance
        (-300, 0, 300),  # behind the start
    ],
)
def test_the_corridor_answers_with_the_exact_distance_beyond_it(dx, dy, beyond):
    fence = Geofence([], PROJ)
    x, y = fence.xy(*lonlat(dx, dy))
    found = fence.off_route_m("rt-1", ROUTE, x, y, 200.0)
    assert found == (None if beyond is None else pytest.approx(beyond, abs=0.5))


def test_a_point_between_the_corridor_polygon_and_the_true_corridor_is_within():
    """The buffer's round end is a polygon of chords; just inside the true circle is still within."""
    fence = Geofence([], PROJ)
    x_end, y_end = fence.xy(*ROUTE[1])
    line = PROJ.to_metric(LineString(ROUTE))
    polygon = line.buffer(200.0)
    # two neighbouring vertices of the end cap, ahead of the route's end: aim between them
    cap = [(vx, vy) for vx, vy in polygon.exterior.coords if vx > x_end + 150]
    (ax, ay), (bx, by) = cap[0], cap[1]
    mx, my = (ax + bx) / 2 - x_end, (ay + by) / 2 - y_end
    norm = math.hypot(mx, my)
    x, y = x_end + 199.9 * mx / norm, y_end + 199.9 * my / norm
    assert not polygon.intersects(Point(x, y))  # outside the polygon the geofence tests first
    assert line.distance(Point(x, y)) < 200.0  # yet within the corridor
    assert fence.off_route_m("rt-1", ROUTE, x, y, 200.0) is None
    assert fence.off_route_m("rt-1", ROUTE, x_end + 200.5, y_end, 200.0) == pytest.approx(200.5, abs=0.01)


def _ping(i: int, dx: float, dy: float, speed: float) -> Position:
    lon, lat = lonlat(dx, dy)
    return Position(schema_version=1, event_id=f"p{i}", plate="川A12345", at=AT, lon=lon, lat=lat, speed_kmh=speed)


def test_the_motorway_cap_applies_within_thirty_metres_of_a_fast_road():
    motorway = PROJ.to_metric(LineString(ROUTE))
    fence = Geofence([], PROJ, fast_roads=[motorway])
    assert fence.on_fast_road(*fence.xy(*lonlat(500, 25)))
    assert not fence.on_fast_road(*fence.xy(*lonlat(500, 35)))
    settings = MonitorSettings(motorway_kmh=80, default_kmh=60)
    load = LoadInfo(decided_at_s=AT.timestamp() - 60, classes=("3",), un_numbers=("UN1203",))
    on, _ = judge_position(_ping(1, 500, 10, 70), VehicleState(plate="川A12345"), load, None, fence, settings)
    assert "speeding" not in on.open  # 70 km/h on the motorway: under its 80 km/h cap
    _, alerts = judge_position(_ping(2, 500, 300, 70), on, load, None, fence, settings)
    assert [(a.kind, a.state) for a in alerts] == [("speeding", "raised")]
    assert "60 km/h" in alerts[0].message_en
