"""The per-plate state through the agents, without Kafka (a dict stands in for Quix's state store).

What one event of a plate leaves in its state is what its next events see: a passed load
(its pings are checked movements, its flows are tracked), a permitted route (its corridor),
a delivery (the flows it closed are no longer open).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hazmat.events import Alert, Position, Route, RouteRequest, decode
from hazmat.monitor.geofence import Geofence
from hazmat.monitor.state import LoadInfo, VehicleState
from hazmat.routing.geo import Projection
from hazmat.streams import handlers, resources
from hazmat.streams.agents import checkins, flows, positions, routes
from hazmat.streams.state import LOAD, MONITOR, ROUTE, ROUTE_ID, DictState
from tests.helpers import changed

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
PLATE = "晋B12345"
KEY = PLATE.encode()
PROJ = Projection.around(112.57, 37.87)


def source(topic: str, offset: int = 0) -> handlers.Source:
    return handlers.Source(topic=topic, partition=0, offset=offset, key=KEY)


@pytest.fixture(autouse=True)
def _fresh_resources(monkeypatch) -> Iterator[None]:
    """Each test its own archive (HAZMAT_ARCHIVE is per test) and a geofence without zones (no road graph)."""
    for cached in (resources.city, resources.archive, resources.blacklist):
        cached.cache_clear()
    monkeypatch.setattr(resources, "geofence", lambda: Geofence([], PROJ))
    yield
    resources.archive().close()
    for cached in (resources.city, resources.archive, resources.blacklist):
        cached.cache_clear()


def checkin(event_id: str = "ci-1", **changes) -> bytes:
    c = changed(event_id=event_id, vehicle__plate=PLATE, documents__waybill__plate=PLATE, **changes)
    return json.dumps(c, ensure_ascii=False).encode()


def ping(n: int, lon: float = 112.57, lat: float = 37.87, speed_kmh: float = 30) -> bytes:
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC) + timedelta(seconds=10 * n)
    p = Position(schema_version=1, event_id=f"p-{n}", plate=PLATE, at=at, lon=lon, lat=lat, speed_kmh=speed_kmh)
    return p.model_dump_json().encode()


def alerts(emits: list) -> list[Alert]:
    return [decode(Alert, e.value) for e in emits if e.topic == "hazmat.alerts"]


def test_a_passed_checkin_becomes_the_plates_load_and_its_verdict_carries_the_archive_entry():
    st = DictState()
    out = checkins.handle(checkin(), source("hazmat.checkins"), NOW, st)
    assert out[0].topic == "hazmat.verdicts"
    assert out[0].entry is not None
    assert out[0].entry.verdict.checkin_event_id == "ci-1"
    load = LoadInfo.from_json(st.get(LOAD))
    assert load is not None
    assert load.flows == ("f-ci-1-UN1005",)  # the base check-in carries liquid ammonia, a high-hazard load


def test_a_refused_checkin_leaves_no_load_and_a_broken_one_a_dead_letter():
    st = DictState()
    out = checkins.handle(checkin(tank__inspection_valid_until="2026-10-01"), source("hazmat.checkins"), NOW, st)
    assert st.get(LOAD) is None
    assert [a.kind for a in alerts(out)] == ["checkin_refused"]
    dead = checkins.handle(b"{", source("hazmat.checkins", 1), NOW, st)
    assert [e.topic for e in dead] == ["hazmat.dlq", "hazmat.alerts"]
    assert st.values == {}


def test_a_ping_sees_the_load_its_plate_checked_in_with():
    watcher = positions.Positions()
    loaded, unknown = DictState(), DictState()
    checkins.handle(checkin(), source("hazmat.checkins"), NOW, loaded)
    assert alerts(watcher.handle(ping(1), source("hazmat.positions"), NOW, loaded)) == []
    [alert] = alerts(watcher.handle(ping(1), source("hazmat.positions"), NOW, unknown))
    assert alert.kind == "unchecked_movement"
    assert unknown.get(MONITOR) is not None  # the raised condition is remembered: not raised again
    assert alerts(watcher.handle(ping(2), source("hazmat.positions", 1), NOW, unknown)) == []


def test_a_permitted_route_is_kept_and_a_new_one_replaces_the_decoded_copy(monkeypatch):
    def plan(request: RouteRequest, **_) -> Route:
        end = 112.60 + len(request.request_id) / 100
        return Route.model_validate_json(
            json.dumps(
                {
                    "route_id": f"rt-{request.request_id}",
                    "request_id": request.request_id,
                    "plate": request.plate,
                    "status": "ok",
                    "geometry": {"type": "LineString", "coordinates": [[112.57, 37.87], [end, 37.87]]},
                    "length_m": 3000.0,
                    "duration_s": 300.0,
                }
            )
        )

    monkeypatch.setattr(resources, "router_plan", lambda: plan)
    st, watcher = DictState(), positions.Positions()

    def ask(request_id: str) -> None:
        request = {
            "schema_version": 1, "request_id": request_id, "plate": PLATE,
            "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 1000}],
            "origin": {"lon": 112.57, "lat": 37.87}, "destination": {"lon": 112.6, "lat": 37.87},
            "depart_at": "2026-11-26T10:00:00+08:00",
        }  # fmt: skip
        [out] = routes.handle(json.dumps(request).encode(), source("hazmat.route-requests"), NOW, st)
        assert out.topic == "hazmat.routes"

    ask("r1")
    assert st.get(ROUTE_ID) == "rt-r1"
    assert watcher.route_of(PLATE, st)["route_id"] == "rt-r1"
    ask("r22")
    assert st.get(ROUTE)["route_id"] == "rt-r22"
    assert watcher.route_of(PLATE, st)["coordinates"][-1][0] == pytest.approx(112.63)


def test_a_delivery_closes_the_plates_open_flows_in_the_archive_and_in_its_state():
    st = DictState()
    [verdict, *_] = checkins.handle(checkin(), source("hazmat.checkins"), NOW, st)
    resources.archive().record([verdict.entry])
    delivery = {
        "schema_version": 1, "event_id": "dl-1", "plate": PLATE, "at": "2026-11-26T12:00:00+08:00",
        "site_id": "S-1", "checkin_event_id": "ci-1",
    }  # fmt: skip
    assert flows.handle_delivery(json.dumps(delivery).encode(), source("hazmat.deliveries"), NOW, st) == []
    assert LoadInfo.from_json(st.get(LOAD)).flows == ()
    [closed] = resources.archive().flows(plate=PLATE)
    assert (closed.closed_how, closed.closed_by) == ("delivery", "dl-1")
    again = flows.handle_delivery(b'{"plate": 1}', source("hazmat.deliveries", 1), NOW, st)
    assert [e.topic for e in again] == ["hazmat.dlq", "hazmat.alerts"]


def test_the_state_keeps_alert_ids_and_a_duplicate_ping_gets_the_same_alerts_again():
    watcher, st = positions.Positions(), DictState()
    [alert] = alerts(watcher.handle(ping(1), source("hazmat.positions"), NOW, st))
    assert st.get(MONITOR)["recent"] == {"p-1": [alert.alert_id]}
    assert st.get("sent:p-1")[0]["alert_id"] == alert.alert_id
    assert alerts(watcher.handle(ping(1), source("hazmat.positions", 1), NOW, st)) == [alert]
    assert alerts(watcher.handle(ping(2), source("hazmat.positions", 2), NOW, st)) == []  # still unchecked: no storm


def test_the_alerts_of_a_ping_go_when_it_leaves_the_recent_ones():
    watcher, st = positions.Positions(), DictState()
    for n in range(1, VehicleState.RECENT + 2):
        watcher.handle(ping(n), source("hazmat.positions", n), NOW, st)
    assert "p-1" not in st.get(MONITOR)["recent"]
    assert st.get("sent:p-1") is None
    assert len(st.get(MONITOR)["recent"]) == VehicleState.RECENT
    assert [k for k in st.values if k.startswith("sent:")] == []  # the only alerting ping was the first
