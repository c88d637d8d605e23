"""Monitoring a designated area (routing.md "Monitoring positions"): off its designated roads for N pings → zone_entry."""

from __future__ import annotations

from collections import Counter

import pytest
from shapely.geometry import LineString, Point, box

from hazmat.monitor.geofence import Geofence
from hazmat.monitor.judge import MonitorSettings
from hazmat.monitor.simulate import drive, with_detour
from hazmat.routing.zones import load_zones
from tests.monitor.test_judge import CHECKED, START, router_node, run
from tests.routing_helpers import request, road, zone

HALF = 0.004


def _area(centre, **props):
    cx, cy = centre
    return zone("da-watch", cx - HALF, cy - HALF, cx + HALF, cy + HALF, kind="designated_area", **props)


@pytest.fixture
def watched(router, with_zones):
    """A route across Chengdu, an area over its middle whose designated road is the route itself, and a point
    inside the area 150 m or more from the route."""
    r = with_zones().plan(request(router_node(router, 10), router_node(router, 1500), at=START.isoformat()))
    coords = r.geometry.coordinates
    mid = coords[len(coords) // 2]
    inner = box(mid[0] - HALF + 1e-6, mid[1] - HALF + 1e-6, mid[0] + HALF - 1e-6, mid[1] + HALF - 1e-6)
    on_route = LineString(coords).intersection(inner)
    lines = [list(g.coords) for g in getattr(on_route, "geoms", [on_route])]
    metric_route = router.projection.to_metric(LineString(coords))
    candidates = [(mid[0] + dx, mid[1] + dy) for dx in (-0.003, 0.003) for dy in (-0.003, 0.003)]
    away = max(candidates, key=lambda p: metric_route.distance(Point(router.projection.point(*p))))
    assert metric_route.distance(Point(router.projection.point(*away))) > 150
    return r, mid, lines, away


def _fence(router, *features):
    return Geofence(load_zones(router.city, router.projection, list(features)), router.projection)


def test_driving_the_designated_road_raises_nothing(router, watched):
    r, mid, lines, _away = watched
    fence = _fence(router, _area(mid), road("dr", "da-watch", lines))
    positions = drive(r.geometry.coordinates, plate="川A12345", start=START, speed_kmh=40)
    assert any(fence.zones_at(*fence.xy(p.lon, p.lat)) for p in positions), "the trip crosses the area"
    assert run(positions, fence)[1] == []


def test_leaving_the_designated_road_inside_the_area_raises_zone_entry_naming_it_and_clears(router, watched):
    r, mid, lines, away = watched
    fence = _fence(router, _area(mid, name="测试管控区"), road("dr", "da-watch", lines))
    positions = drive(with_detour(r.geometry.coordinates, 0.5, [away]), plate="川A12345", start=START, speed_kmh=40)
    state, alerts = run(positions, fence)
    assert [(a.kind, a.state, a.zone_id) for a in alerts] == [
        ("zone_entry", "raised", "da-watch"),
        ("zone_entry", "cleared", "da-watch"),
    ]
    raised = alerts[0]
    assert raised.rule_ids == ["ZON-001"]
    assert "off its designated roads (2 pings in a row)" in raised.message_en
    assert "测试管控区" in raised.message_zh
    assert "back on the designated roads of da-watch" in alerts[1].message_en
    # it was raised on the second ping in a row off the road, not the first
    off = [
        p
        for p in positions
        if fence.zones_at(*fence.xy(p.lon, p.lat))
        and fence.off_roads_m(fence.zones[0], *fence.xy(p.lon, p.lat)) > 20 + 30
    ]
    assert raised.source_event_id == off[1].event_id
    assert state.streaks == {}


def test_one_ping_off_the_road_is_not_yet_an_alert(router, watched):
    r, mid, lines, away = watched
    fence = _fence(router, _area(mid), road("dr", "da-watch", lines))
    positions = drive(with_detour(r.geometry.coordinates, 0.5, [away]), plate="川A12345", start=START, speed_kmh=40)
    x, y = away
    glitch = [p for p in positions if Point(p.lon, p.lat).distance(Point(x, y)) < 0.0003][:1]
    assert glitch
    trip = [p for p in positions if Point(p.lon, p.lat).distance(LineString(r.geometry.coordinates)) < 1e-6]
    one_off = sorted([*trip, *glitch], key=lambda p: p.at)
    assert run(one_off, fence)[1] == []
    # with deviation_pings = 1 the same ping is enough
    assert [a.kind for a in run(one_off, fence, settings=MonitorSettings(deviation_pings=1))[1]] == [
        "zone_entry",
        "zone_entry",
    ]


def test_the_gps_tolerance_widens_the_road(router, watched):
    r, mid, lines, away = watched
    fence = _fence(router, _area(mid), road("dr", "da-watch", lines))
    positions = drive(with_detour(r.geometry.coordinates, 0.5, [away]), plate="川A12345", start=START, speed_kmh=40)
    lenient = MonitorSettings(gps_tolerance_m=5000)
    assert run(positions, fence, settings=lenient)[1] == []


def test_a_designated_area_outside_its_window_or_for_other_loads_raises_nothing(router, watched):
    r, mid, lines, away = watched
    positions = drive(with_detour(r.geometry.coordinates, 0.5, [away]), plate="川A12345", start=START, speed_kmh=40)
    night = _fence(router, _area(mid, windows=[{"start": "22:00", "end": "06:00"}]), road("dr", "da-watch", lines))
    assert run(positions, night)[1] == []
    petrol = _fence(router, _area(mid, applies_to={"hazard_classes": ["3"]}), road("dr", "da-watch", lines))
    assert run(positions, petrol)[1] == []
    unknown_load = Counter((a.kind, a.state) for a in run(positions, petrol, load=None)[1])
    assert unknown_load[("zone_entry", "raised")] == 1  # no passed check-in: every zone counts
    assert CHECKED.classes == ("2.3",)
