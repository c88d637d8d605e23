"""Positions through the real broker: a trip on its route, a detour, no check-in, a worker restart."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from shapely.geometry import shape

from hazmat.archive import open_archive
from hazmat.events import Position
from hazmat.monitor.simulate import drive, with_detour
from hazmat.streams import names
from tests.helpers import changed
from tests.kafka_helpers import Tap, Worker, producer, wait_until

pytestmark = pytest.mark.kafka

START = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
A, B = (104.060, 30.670), (104.095, 30.715)  # the route between them passes the reservoir (osm-way-227338532)


@pytest.fixture(scope="module")
def env(kafka: str, chengdu_worker: Worker) -> Iterator[tuple[str, Worker, Tap]]:
    """The shared Chengdu worker (plates 川A1000x are this module's) and a tap on its outputs."""
    tap = Tap(kafka, chengdu_worker.prefix, names.VERDICTS, names.ROUTES, names.ALERTS)
    try:
        yield chengdu_worker.prefix, chengdu_worker, tap
    finally:
        tap.close()


def send(kafka: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    p = producer(kafka)
    for key, value in messages:
        p.send(topic, key=key.encode(), value=value)
    p.flush()
    p.close()


def check_in_and_route(kafka: str, prefix: str, worker: Worker, tap: Tap, plate: str) -> list[list[float]]:
    checkin = changed(
        event_id=f"ci-{plate[2:]}",
        occurred_at=(START - timedelta(minutes=30)).isoformat(),
        vehicle__plate=plate,
        documents__waybill__plate=plate,
    )
    send(kafka, names.CHECKINS.name(prefix), [(plate, json.dumps(checkin, ensure_ascii=False).encode())])
    request = {
        "schema_version": 1, "request_id": f"rq-{plate[2:]}", "plate": plate,
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 24000}],
        "origin": {"lon": A[0], "lat": A[1]}, "destination": {"lon": B[0], "lat": B[1]}, "depart_at": START.isoformat(),
    }  # fmt: skip
    send(kafka, names.ROUTE_REQUESTS.name(prefix), [(plate, json.dumps(request, ensure_ascii=False).encode())])
    tap.wait_for(
        lambda t: any(v["plate"] == plate for v in t.messages["hazmat.verdicts"]) and any(r["plate"] == plate for r in t.messages["hazmat.routes"]),
        timeout=120, worker=worker,
    )  # fmt: skip
    route = next(r for r in tap.messages["hazmat.routes"] if r["plate"] == plate)
    assert route["status"] == "ok", route
    return route["geometry"]["coordinates"]


def drive_and_mark(kafka: str, prefix: str, positions: list[Position], tap: Tap, worker: Worker) -> list[dict]:
    """Send the pings, then one speeding ping: once its alert is back, every earlier ping was handled."""
    last = positions[-1]
    marker = Position(
        schema_version=1,
        event_id=f"{last.event_id}-end",
        plate=last.plate,
        at=last.at + timedelta(seconds=10),
        lon=last.lon,
        lat=last.lat,
        speed_kmh=120,
    )
    send(kafka, names.POSITIONS.name(prefix), [(p.plate, p.model_dump_json().encode()) for p in [*positions, marker]])
    tap.wait_for(
        lambda t: any(a["source_event_id"] == marker.event_id for a in t.messages["hazmat.alerts"]),
        timeout=120,
        worker=worker,
    )
    return [
        a for a in tap.messages["hazmat.alerts"] if a["plate"] == last.plate and a["source_event_id"] != marker.event_id
    ]


def test_a_trip_along_its_route_raises_nothing(kafka, env):
    prefix, worker, tap = env
    coords = check_in_and_route(kafka, prefix, worker, tap, "川A10001")
    alerts = drive_and_mark(
        kafka, prefix, drive(coords, plate="川A10001", start=START, speed_kmh=40, event_prefix="ok"), tap, worker
    )
    assert alerts == []


def test_a_detour_into_a_water_source_raises_one_zone_entry_and_one_route_deviation(kafka, env):
    prefix, worker, tap = env
    coords = check_in_and_route(kafka, prefix, worker, tap, "川A10002")
    reservoir = shape(
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [104.0790384, 30.7113064],
                    [104.0833461, 30.7111749],
                    [104.0798943, 30.7093599],
                    [104.0790384, 30.7113064],
                ]
            ],
        }
    ).centroid
    detoured = with_detour(coords, 0.5, [[reservoir.x, reservoir.y]])
    alerts = drive_and_mark(
        kafka, prefix, drive(detoured, plate="川A10002", start=START, speed_kmh=40, event_prefix="dt"), tap, worker
    )
    counts = Counter((a["kind"], a["state"]) for a in {a["alert_id"]: a for a in alerts}.values())
    assert counts[("zone_entry", "raised")] == 1
    assert counts[("route_deviation", "raised")] == 1
    assert {a["zone_id"] for a in alerts if a["kind"] == "zone_entry"} == {"osm-way-227338532"}


def test_a_vehicle_without_a_check_in_raises_unchecked_movement(kafka, env):
    prefix, worker, tap = env
    positions = drive([list(A), list(B)], plate="川A10003", start=START, speed_kmh=40, event_prefix="nc")[:5]
    alerts = drive_and_mark(kafka, prefix, positions, tap, worker)
    assert [(a["kind"], a["state"]) for a in alerts] == [("unchecked_movement", "raised")]


def test_a_worker_killed_mid_trip_loses_no_state(kafka, env, tmp_path):
    prefix, worker, tap = env
    coords = check_in_and_route(kafka, prefix, worker, tap, "川A10004")
    reservoir = (104.0800, 30.7104)
    positions = drive(
        with_detour(coords, 0.5, [list(reservoir)]), plate="川A10004", start=START, speed_kmh=40, event_prefix="rs"
    )
    entered = next(
        i for i, p in enumerate(positions) if abs(p.lon - reservoir[0]) < 0.0005 and abs(p.lat - reservoir[1]) < 0.0005
    )
    first, rest = positions[: entered + 1], positions[entered + 1 :]
    drive_and_mark(kafka, prefix, first, tap, worker)
    worker.stop(signal.SIGKILL)
    replacement = Worker(
        bootstrap=kafka, prefix=prefix, archive=worker.archive, log=tmp_path / "worker2.log", extra_env=worker.extra_env
    ).start()
    try:
        alerts = drive_and_mark(kafka, prefix, rest, tap, replacement)
    finally:
        replacement.stop()
        worker.proc = None
        env[1].start()  # the module's worker comes back for later tests
    distinct = {a["alert_id"]: a for a in alerts}
    counts = Counter((a["kind"], a["state"]) for a in distinct.values())
    assert counts[("zone_entry", "raised")] == 1, counts
    assert counts[("zone_entry", "cleared")] == 1, counts
    assert counts[("route_deviation", "raised")] == 1, counts
    # the replacement restored the plate's passed check-in (vehicle-loads): no unchecked movement
    assert counts[("unchecked_movement", "raised")] == 0, counts


def test_a_high_hazard_load_is_tracked_and_closed_when_it_stops_at_its_destination(kafka, env):
    prefix, worker, tap = env
    coords = check_in_and_route(kafka, prefix, worker, tap, "川A10005")
    trip = drive(coords, plate="川A10005", start=START, speed_kmh=40, event_prefix="fl")
    last = trip[-1]
    stop = Position(
        schema_version=1, event_id="fl-stop", plate=last.plate, at=last.at + timedelta(seconds=30),
        lon=coords[-1][0], lat=coords[-1][1], speed_kmh=0,
    )  # fmt: skip
    alerts = drive_and_mark(kafka, prefix, [*trip, stop], tap, worker)
    assert alerts == []
    archive = open_archive(worker.archive)
    try:
        # the flow row rides on the check-in's archive entry, written at the worker's next checkpoint
        # (the closure is written by the ping itself): a fast trip can end before it
        wait_until(lambda: len(archive.flows(plate="川A10005")), 1, what="the load's flow archived")
        [flow] = archive.flows(plate="川A10005")
    finally:
        archive.close()
    assert flow.flow.flow_id == "f-ci-10005-UN1005"
    assert flow.closed_how == "arrived"
    assert flow.closed_at is not None
    assert trip[0].at < flow.closed_at <= stop.at  # the drive ends standing at the destination, or the stop
    assert flow.last is not None
    assert flow.last.at == flow.closed_at  # the closing ping is the track's last point


def test_a_late_load_raises_flow_overdue_and_its_delivery_clears_it(kafka, env):
    prefix, worker, tap = env
    plate = "川A10006"
    checkin = changed(
        event_id="ci-late", occurred_at="2015-11-26T09:00:00+08:00", vehicle__plate=plate,
        documents__waybill__plate=plate,
    )  # fmt: skip
    send(kafka, names.CHECKINS.name(prefix), [(plate, json.dumps(checkin, ensure_ascii=False).encode())])

    def overdue(state: str):
        return lambda t: any(
            a["plate"] == plate and a["kind"] == "flow_overdue" and a["state"] == state
            for a in t.messages["hazmat.alerts"]
        )

    tap.wait_for(overdue("raised"), timeout=60, worker=worker)  # the worker checks every 10 s
    delivery = {
        "schema_version": 1, "event_id": "dl-late", "plate": plate, "at": "2026-11-26T12:00:00+08:00",
        "site_id": "CD-COLD-01", "checkin_event_id": "ci-late",
    }  # fmt: skip
    send(kafka, names.DELIVERIES.name(prefix), [(plate, json.dumps(delivery).encode()), (plate, b'{"plate": 1}')])
    tap.wait_for(overdue("cleared"), timeout=60, worker=worker)
    raised = [a for a in tap.messages["hazmat.alerts"] if a["plate"] == plate and a["kind"] == "flow_overdue"]
    assert sorted({a["alert_id"] for a in raised}) == [
        "a-f-ci-late-UN1005-flow_overdue",
        "a-f-ci-late-UN1005-flow_overdue-cleared",
    ]
    tap.wait_for(lambda t: any(a["kind"] == "invalid_event" and "deliveries" in a.get("message_en", "")
                               for a in t.messages["hazmat.alerts"]), timeout=60, worker=worker)  # fmt: skip
    archive = open_archive(worker.archive)
    try:
        [flow] = archive.flows(plate=plate)
    finally:
        archive.close()
    assert flow.closed_how == "delivery"
