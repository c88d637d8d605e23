"""The map's vehicle bookkeeping without a broker: last position, heading, state from open conditions."""

from __future__ import annotations

import pytest

from hazmat.api.fleet import Fleet, bearing


def ping(plate: str, at: str, lon: float, lat: float, speed: float = 40.0) -> dict:
    return {"plate": plate, "at": at, "lon": lon, "lat": lat, "speed_kmh": speed, "event_id": f"{plate}-{at}"}


def alert(plate: str, kind: str, state: str = "raised", zone: str | None = None) -> dict:
    return {"alert_id": f"a-{plate}-{kind}-{state}", "plate": plate, "kind": kind, "state": state, "zone_id": zone}


@pytest.mark.parametrize(
    ("to", "expected"),
    [((104.0, 30.01), 0.0), ((104.01, 30.0), 90.0), ((104.0, 29.99), 180.0), ((103.99, 30.0), 270.0)],
)
def test_bearing_is_degrees_clockwise_from_north(to, expected):
    assert bearing(104.0, 30.0, *to) == pytest.approx(expected, abs=0.1)


def test_the_heading_follows_the_movement_and_survives_a_standstill():
    fleet = Fleet()
    first = fleet.position(ping("川A1", "2026-11-26T10:00:00+08:00", 104.0, 30.0))
    assert first["heading"] is None  # one ping: no direction yet
    east = fleet.position(ping("川A1", "2026-11-26T10:00:10+08:00", 104.001, 30.0))
    assert east["heading"] == pytest.approx(90, abs=0.5)
    parked = fleet.position(ping("川A1", "2026-11-26T10:00:20+08:00", 104.00101, 30.0, speed=0))
    assert parked["heading"] == east["heading"]  # a metre of GPS jitter does not turn it
    assert [v["plate"] for v in fleet.snapshot()] == ["川A1"]


def test_an_older_or_repeated_ping_does_not_move_the_marker_back():
    fleet = Fleet()
    fleet.position(ping("川A1", "2026-11-26T10:00:10+08:00", 104.001, 30.0))
    assert fleet.position(ping("川A1", "2026-11-26T10:00:05+08:00", 104.0, 30.0)) is None
    assert fleet.position(ping("川A1", "2026-11-26T02:00:05+00:00", 104.0, 30.0)) is None  # same instant, UTC
    assert fleet.position(ping("川A1", "2026-11-26T10:00:10+08:00", 104.0, 30.0)) is None  # redelivered
    assert fleet.vehicles["川A1"]["lon"] == 104.001
    assert fleet.position(ping("川A1", "2026-11-26T02:00:11+00:00", 104.002, 30.0)) is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"plate": "川A1", "at": "yesterday", "lon": 104.0, "lat": 30.0},
        {"plate": "川A1", "at": "2026-11-26T10:00:00", "lon": 104.0, "lat": 30.0},  # no offset
        {"plate": "川A1", "at": "2026-11-26T10:00:00+08:00", "lon": "104", "lat": 30.0},
        {"plate": None, "at": "2026-11-26T10:00:00+08:00", "lon": 104.0, "lat": 30.0},
    ],
)
def test_a_ping_the_map_cannot_place_is_left_out(bad):
    fleet = Fleet()
    assert fleet.position(bad) is None
    assert fleet.snapshot() == []


def test_the_state_follows_lasting_conditions_raised_and_cleared():
    fleet = Fleet()
    fleet.position(ping("川A1", "2026-11-26T10:00:00+08:00", 104.0, 30.0))
    assert fleet.vehicles["川A1"]["state"] == "ok"
    assert fleet.alert(alert("川A1", "zone_entry", zone="ws-1"))["state"] == "alerting"
    assert fleet.alert(alert("川A1", "route_deviation")) is None  # still alerting: nothing to redraw
    assert fleet.alert(alert("川A1", "zone_entry", "cleared", zone="ws-1")) is None
    assert fleet.alert(alert("川A1", "route_deviation", "cleared"))["state"] == "ok"
    assert fleet.alert(alert("川A1", "unchecked_movement"))["state"] == "unchecked"
    assert fleet.open_alerts("川A1")[0]["kind"] == "unchecked_movement"
    # a refused check-in is listed elsewhere but never cleared: it does not colour the marker
    assert fleet.alert(alert("川A2", "checkin_refused")) is None
    assert "川A2" not in fleet.conditions


def test_a_condition_raised_before_the_first_ping_colours_it():
    fleet = Fleet()
    assert fleet.alert(alert("川A3", "speeding")) is None  # no marker yet
    assert fleet.position(ping("川A3", "2026-11-26T10:00:00+08:00", 104.0, 30.0))["state"] == "alerting"


def test_memory_is_bounded_by_forgetting_the_longest_silent_vehicle():
    fleet = Fleet(max_vehicles=2)
    for n, plate in enumerate(["川A1", "川A2", "川A1", "川A3"]):
        fleet.position(ping(plate, f"2026-11-26T10:00:0{n}+08:00", 104.0 + n / 1000, 30.0))
    fleet.alert(alert("川A1", "speeding"))
    assert [v["plate"] for v in fleet.snapshot()] == ["川A1", "川A3"]
    assert set(fleet.conditions) == {"川A1"}


def test_a_stream_client_gets_each_vehicle_once_per_batch_with_its_latest_change():
    from hazmat.api.feed import PositionSubscriber

    client = PositionSubscriber()
    fleet = Fleet()
    for n in range(3):
        client.put(fleet.position(ping("川A1", f"2026-11-26T10:00:0{n}+08:00", 104.0 + n / 1000, 30.0)))
    client.put(fleet.position(ping("川A2", "2026-11-26T10:00:00+08:00", 104.1, 30.0)))
    assert client.changed.is_set()
    batch = client.take()
    assert [(v["plate"], v["event_id"]) for v in batch] == [
        ("川A1", "川A1-2026-11-26T10:00:02+08:00"),
        ("川A2", "川A2-2026-11-26T10:00:00+08:00"),
    ]
    assert client.take() == []
    assert not client.changed.is_set()
