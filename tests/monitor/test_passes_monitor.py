"""Monitoring with police passes (routing.md item 6): an opened zone raises no zone_entry; off the pass's route
inside it, route_deviation naming the pass; a lapsed pass opens nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from shapely.geometry import LineString, Point

from hazmat.monitor.geofence import Geofence
from hazmat.monitor.simulate import drive, with_detour
from hazmat.routing.zones import load_zones
from tests.monitor.test_judge import START, router_node, run
from tests.routing.test_passes import a_pass
from tests.routing_helpers import request, road, zone

PLATE = "川A12345"


@pytest.fixture
def opened(router, with_zones):
    """A route across Chengdu, a restricted square over its middle, and a point in the square 150 m off the route."""
    r = with_zones().plan(request(router_node(router, 10), router_node(router, 1500), at=START.isoformat()))
    coords = r.geometry.coordinates
    mid = coords[len(coords) // 2]
    square = zone("rs-mid", mid[0] - 0.004, mid[1] - 0.004, mid[0] + 0.004, mid[1] + 0.004, name="中段限行")
    metric_route = router.projection.to_metric(LineString(coords))
    candidates = [(mid[0] + dx, mid[1] + dy) for dx in (-0.003, 0.003) for dy in (-0.003, 0.003)]
    away = max(candidates, key=lambda p: metric_route.distance(Point(router.projection.point(*p))))
    fence = Geofence(load_zones(router.city, router.projection, [square]), router.projection)
    return r, fence, away


def _trip(r, away=None, **kwargs):
    coords = r.geometry.coordinates if away is None else with_detour(r.geometry.coordinates, 0.5, [away])
    return drive(coords, plate=PLATE, start=START, speed_kmh=40, **kwargs)


def test_a_valid_pass_opens_the_zone_and_another_vehicle_gets_the_alert(opened):
    r, fence, _away = opened
    positions = _trip(r)
    assert run(positions, fence)[1], "without a pass the trip enters the zone"
    _, alerts = run_with(positions, fence, [a_pass("P-1", ["rs-mid"])])
    assert alerts == []
    _, others = run_with(positions, fence, [a_pass("P-1", ["rs-mid"], plate="川A54321")])
    assert [(a.kind, a.state) for a in others] == [("zone_entry", "raised"), ("zone_entry", "cleared")]


def test_leaving_the_pass_route_inside_the_zone_is_a_route_deviation_naming_the_pass(opened):
    r, fence, away = opened
    passes = [a_pass("P-route", ["rs-mid"], route=r.geometry.coordinates)]
    assert run_with(_trip(r), fence, passes)[1] == []  # along the pass's route
    state, alerts = run_with(_trip(r, away), fence, passes)
    assert [(a.kind, a.state, a.zone_id) for a in alerts] == [
        ("route_deviation", "raised", "rs-mid"),
        ("route_deviation", "cleared", "rs-mid"),
    ]
    raised = alerts[0]
    assert raised.rule_ids == ["RTE-001"]
    assert "off the route of pass P-route inside rs-mid (2 pings in a row)" in raised.message_en
    assert "通行证 P-route" in raised.message_zh
    assert raised.alert_id == f"a-{raised.source_event_id}-route_deviation-rs-mid"
    assert state.streaks == {}


def test_a_pass_expiring_mid_trip_raises_zone_entry_from_then_on_naming_it(opened):
    r, fence, _away = opened
    positions = _trip(r)
    inside = [p for p in positions if fence.zones_at(*fence.xy(p.lon, p.lat))]
    assert len(inside) > 3
    ends = inside[2].at - timedelta(seconds=1)  # expires while the vehicle is in the zone
    _, alerts = run_with(positions, fence, [a_pass("P-short", ["rs-mid"], until=ends.isoformat())])
    assert [(a.kind, a.state) for a in alerts] == [("zone_entry", "raised"), ("zone_entry", "cleared")]
    assert alerts[0].source_event_id == inside[2].event_id
    assert f"pass P-short expired at {ends.isoformat()}" in alerts[0].message_en
    assert "通行证 P-short 已于" in alerts[0].message_zh


def test_a_pass_never_opens_a_water_source(router, opened):
    r, _fence, _away = opened
    coords = r.geometry.coordinates
    mid = coords[len(coords) // 2]
    water = zone("ws-mid", mid[0] - 0.004, mid[1] - 0.004, mid[0] + 0.004, mid[1] + 0.004, kind="water_source")
    fence = Geofence(load_zones(router.city, router.projection, [water]), router.projection)
    _, alerts = run_with(_trip(r), fence, [a_pass("P-bad", ["ws-mid"])])
    assert Counter((a.kind, a.zone_id) for a in alerts) == {("zone_entry", "ws-mid"): 2}


def test_a_pass_route_adds_to_a_designated_areas_roads(router, opened):
    r, _fence, away = opened
    coords = r.geometry.coordinates
    mid = coords[len(coords) // 2]
    area = zone("da-mid", mid[0] - 0.004, mid[1] - 0.004, mid[0] + 0.004, mid[1] + 0.004, kind="designated_area")
    elsewhere = [[mid[0] - 0.0039, mid[1] + 0.0039], [mid[0] - 0.0030, mid[1] + 0.0039]]  # a short road in a corner
    fence = Geofence(
        load_zones(router.city, router.projection, [area, road("dr", "da-mid", [elsewhere])]), router.projection
    )
    positions = _trip(r)
    assert [a.kind for a in run(positions, fence)[1]] == ["zone_entry", "zone_entry"]  # off the area's roads
    along = [a_pass("P-area", ["da-mid"], route=coords)]
    assert run_with(positions, fence, along)[1] == []
    _, detour = run_with(_trip(r, away), fence, along)
    assert [(a.kind, a.state) for a in detour] == [("route_deviation", "raised"), ("route_deviation", "cleared")]


def run_with(positions, fence, passes):
    return run(positions, fence, passes=passes)
