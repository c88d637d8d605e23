"""The monitor's core without a broker: a simulated trip, detours, windows, speed, redelivery."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from hazmat.events import Position
from hazmat.monitor.geofence import Geofence
from hazmat.monitor.judge import MonitorSettings, judge_position
from hazmat.monitor.simulate import drive, with_detour
from hazmat.monitor.state import LoadInfo, VehicleState
from hazmat.routing.zones import load_zones
from tests.routing_helpers import request, zone

START = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
CHECKED = LoadInfo(decided_at_s=START.timestamp() - 600, classes=("2.3",), un_numbers=("UN1005",))
SETTINGS = MonitorSettings()


@pytest.fixture
def trip(router, with_zones):
    """A permitted route across Chengdu with a water-source zone beside it (not on it)."""
    r = with_zones().plan(request(router_node(router, 10), router_node(router, 1500), at=START.isoformat()))
    coords = r.geometry.coordinates
    mid = coords[len(coords) // 2]
    # a small water-source square 600 m east of the route's middle
    side = zone("ws-side", mid[0] + 0.005, mid[1] - 0.001, mid[0] + 0.007, mid[1] + 0.001, kind="water_source")
    zones = load_zones(router.city, router.projection, [side])
    fence = Geofence(zones, router.projection)
    return r, fence, (mid[0] + 0.006, mid[1])


def router_node(router, i):
    d = router.graph.nodes[router.net.node_ids[i]]
    return d["x"], d["y"]


def run(positions: list[Position], fence: Geofence, *, load=CHECKED, route=None, settings=SETTINGS, passes=()):
    state = VehicleState(plate=positions[0].plate)
    alerts = []
    for pos in positions:
        state, new = judge_position(pos, state, load, route, fence, settings, passes)
        alerts += new
    return state, alerts


def as_route(r):
    return {"route_id": r.route_id, "coordinates": r.geometry.coordinates}


def test_a_trip_along_its_route_raises_nothing(trip):
    r, fence, _ = trip
    positions = drive(r.geometry.coordinates, plate="川A12345", start=START, speed_kmh=40)
    assert len(positions) > 10
    _, alerts = run(positions, fence, route=as_route(r))
    assert alerts == []


def test_a_detour_into_a_water_source_raises_one_zone_entry_and_one_route_deviation(trip):
    r, fence, inside = trip
    detoured = with_detour(r.geometry.coordinates, 0.5, [inside])
    positions = drive(detoured, plate="川A12345", start=START, speed_kmh=40)
    _, alerts = run(positions, fence, route=as_route(r))
    counts = Counter((a.kind, a.state) for a in alerts)
    assert counts == {
        ("zone_entry", "raised"): 1,
        ("zone_entry", "cleared"): 1,
        ("route_deviation", "raised"): 1,
        ("route_deviation", "cleared"): 1,
    }
    entry = next(a for a in alerts if a.kind == "zone_entry" and a.state == "raised")
    assert entry.zone_id == "ws-side"
    # each alert carries the monitoring rule it enforces (rules.md), and that rule's severity
    assert {(a.kind, tuple(a.rule_ids), a.severity) for a in alerts} == {
        ("zone_entry", ("ZON-001",), "high"),
        ("route_deviation", ("RTE-001",), "medium"),
    }
    assert entry.alert_id == f"a-{entry.source_event_id}-zone_entry"


def test_a_restricted_zone_outside_its_window_raises_nothing(router, trip):
    r, _, inside = trip
    night_only = zone(
        "rs-night",
        inside[0] - 0.001,
        inside[1] - 0.001,
        inside[0] + 0.001,
        inside[1] + 0.001,
        windows=[{"start": "22:00", "end": "06:00"}],
    )
    fence = Geofence(load_zones(router.city, router.projection, [night_only]), router.projection)
    positions = drive([r.geometry.coordinates[0], inside], plate="川A12345", start=START, speed_kmh=40)
    _, alerts = run(positions, fence)
    assert [a for a in alerts if a.kind == "zone_entry"] == []


def test_a_zone_for_other_classes_ignores_this_load(router, trip):
    r, _, inside = trip
    petrol_only = zone(
        "rs-3",
        inside[0] - 0.001,
        inside[1] - 0.001,
        inside[0] + 0.001,
        inside[1] + 0.001,
        applies_to={"hazard_classes": ["3"]},
    )
    fence = Geofence(load_zones(router.city, router.projection, [petrol_only]), router.projection)
    positions = drive([r.geometry.coordinates[0], inside], plate="川A12345", start=START, speed_kmh=40)
    assert [a for a in run(positions, fence)[1] if a.kind == "zone_entry"] == []


def test_a_vehicle_without_a_check_in_raises_unchecked_movement_once(trip):
    r, fence, _ = trip
    positions = drive(r.geometry.coordinates, plate="川A99999", start=START, speed_kmh=40)
    _, alerts = run(positions, fence, load=None)
    assert [(a.kind, a.state, a.rule_ids) for a in alerts] == [("unchecked_movement", "raised", ["MOV-001"])]


def test_a_check_in_older_than_24_hours_does_not_count(trip):
    r, fence, _ = trip
    stale = LoadInfo(decided_at_s=START.timestamp() - 25 * 3600, classes=("2.3",), un_numbers=("UN1005",))
    _, alerts = run(drive(r.geometry.coordinates[:3], plate="川A00001", start=START, speed_kmh=40), fence, load=stale)
    assert [a.kind for a in alerts] == ["unchecked_movement"]


def test_speeding_is_raised_once_and_cleared(trip):
    r, fence, _ = trip
    fast = drive(r.geometry.coordinates, plate="川A12345", start=START, speed_kmh=75, every_s=5)[:6]
    later = START + timedelta(minutes=5)
    slow = drive(r.geometry.coordinates, plate="川A12345", start=later, speed_kmh=40, event_prefix="q")[1:3]
    _, alerts = run([*fast, *slow], fence)
    assert [(a.kind, a.state, a.rule_ids) for a in alerts] == [
        ("speeding", "raised", ["SPD-001"]),
        ("speeding", "cleared", ["SPD-001"]),
    ]
    assert "hazmat limit 60 km/h" in alerts[0].message_en


def test_a_redelivered_ping_gets_the_same_alerts_and_no_new_state(trip):
    r, fence, inside = trip
    positions = drive([r.geometry.coordinates[0], inside], plate="川A12345", start=START, speed_kmh=40)
    state = VehicleState(plate="川A12345")
    seen = []
    for pos in positions:
        state, alerts = judge_position(pos, state, CHECKED, None, fence, SETTINGS)
        again_state, again = judge_position(pos, state, CHECKED, None, fence, SETTINGS)
        assert again == alerts
        assert again_state == state
        seen += alerts
    assert [a.kind for a in seen] == ["zone_entry"]


def test_a_ping_on_the_zone_border_counts_as_inside(router):
    square = zone("ws-b", 104.08, 30.68, 104.09, 30.69, kind="water_source")
    fence = Geofence(load_zones(router.city, router.projection, [square]), router.projection)
    edge = Position(schema_version=1, event_id="b1", plate="川A00001", at=START, lon=104.08, lat=30.685, speed_kmh=10)
    _, alerts = judge_position(edge, VehicleState(plate="川A00001"), CHECKED, None, fence, SETTINGS)
    assert [a.kind for a in alerts] == ["zone_entry"]


def test_a_ping_redelivered_after_later_ones_replays_its_alerts_and_changes_nothing(trip):
    """SIGKILL after the state was saved but before offsets were committed: pings come again."""
    r, fence, inside = trip
    positions = drive(
        [r.geometry.coordinates[0], inside, r.geometry.coordinates[0]], plate="川A12345", start=START, speed_kmh=40
    )
    state, first = run(positions, fence)
    replayed_state = state
    again = []
    for pos in positions:
        replayed_state, alerts = judge_position(pos, replayed_state, CHECKED, None, fence, SETTINGS)
        again += alerts
    assert [a.alert_id for a in again] == [a.alert_id for a in first]
    assert replayed_state == state


def test_a_late_ping_changes_nothing(trip):
    r, fence, inside = trip
    positions = drive([r.geometry.coordinates[0], inside], plate="川A12345", start=START, speed_kmh=40)
    state, _ = run(positions, fence)
    late = positions[0].model_copy(update={"event_id": "late-1"})
    assert judge_position(late, state, CHECKED, None, fence, SETTINGS) == (state, [])


def test_a_redelivered_ping_gets_the_same_alerts_after_the_state_went_through_the_table(trip):
    """The table keeps the state as JSON: the replayed alerts are equal to the first ones, field by field."""
    r, fence, inside = trip
    positions = drive([r.geometry.coordinates[0], inside], plate="川A12345", start=START, speed_kmh=40)
    state, first = run(positions, fence)
    assert first
    stored = json.loads(json.dumps(state.to_json()))
    restored = VehicleState.from_json(stored, "川A12345")
    assert restored == state
    again = [a for pos in positions for a in judge_position(pos, restored, CHECKED, None, fence, SETTINGS)[1]]
    assert again == first
    # a state written by an earlier version kept each alert as a JSON string
    older = {**stored, "recent": {k: [json.dumps(a) for a in v] for k, v in stored["recent"].items()}}
    assert VehicleState.from_json(older, "川A12345") == state
