"""High-hazard flow records (流向): opened by a passed load, tracked, closed, overdue — pure parts and the archive."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import pytest

from hazmat.archive import Entry
from hazmat.events import Position
from hazmat.flows import OVERDUE, FlowStatus, TrackPoint, arrived, distance_m, flow_id, opened_by, overdue_alert
from hazmat.flows.store import close, delivered_by
from hazmat.flows.watch import FlowSettings, destination_of, follow
from hazmat.monitor.state import LoadInfo
from hazmat.rules.context import DEFAULT_HIGH_HAZARD
from tests.hazmat.test_archive import raw_db, store  # noqa: F401  (the two-backend fixture)
from tests.helpers import changed, judge, to_checkin

T0 = datetime.fromisoformat("2026-11-26T08:30:00+08:00")


def flows_of(data):
    return opened_by(to_checkin(data), judge(data), DEFAULT_HIGH_HAZARD)


def flow_entry(**changes) -> Entry:
    data = changed(**changes)
    checkin, verdict = to_checkin(data), judge(data)
    return Entry(
        raw=json.dumps(data, ensure_ascii=False),
        site_id=data["site_id"],
        verdict=verdict,
        flows=tuple(opened_by(checkin, verdict, DEFAULT_HIGH_HAZARD)),
    )


def test_a_passed_high_hazard_load_opens_one_flow_with_its_waybill_facts():
    [f] = flows_of(changed(event_id="c-1"))
    assert (f.flow_id, f.un_number, f.name, f.quantity_kg) == ("f-c-1-UN1005", "UN1005", "液氨", 24000)
    assert (f.consignor, f.consignee, f.destination) == ("某化工有限公司", "某冷库有限公司", "大同市云冈区")
    assert f.opened_at == T0
    assert f.plate == "晋B12345"


def test_a_refused_load_opens_no_flow():
    data = changed(tank__inspection_valid_until="2026-10-01")
    assert judge(data).verdict == "refuse"
    assert flows_of(data) == []


def test_a_load_without_high_hazard_chemicals_opens_no_flow():
    data = changed(
        load=[{"un_number": "UN1203", "name": "汽油", "hazard_class": "3", "quantity_kg": 20000}],
        tank__approved_un_numbers=["UN1203"],
        documents__waybill__items=[{"un_number": "UN1203", "quantity_kg": 20000}],
    )
    assert judge(data).verdict == "load"
    assert flows_of(data) == []


def test_stopped_within_the_radius_of_the_routed_destination_is_an_arrival():
    dest = (104.0950, 30.7150)
    near = (104.0950, 30.7170)  # ~222 m north
    assert 200 < distance_m(*near, *dest) < 240
    assert arrived(*near, 0.0, dest, 300)
    assert not arrived(*near, 0.0, dest, 200)  # too far
    assert not arrived(*near, 20.0, dest, 300)  # still moving
    assert not arrived(*near, 0.0, None, 300)  # no route issued: only a delivery event closes it


def ping(event_id: str, at: datetime, lon: float, lat: float, speed: float) -> Position:
    return Position(schema_version=1, event_id=event_id, plate="晋B12345", at=at, lon=lon, lat=lat, speed_kmh=speed)


def test_a_new_load_keeps_the_earlier_loads_undelivered_flows_open():
    data = changed(event_id="c-2")
    checkin, verdict = to_checkin(data), judge(data)
    earlier = LoadInfo(T0.timestamp() - 3600, ("2.3",), ("UN1005",), flows=("f-old", flow_id("c-2", "UN1005")))
    info = LoadInfo.after_load(checkin, verdict, [flow_id("c-2", "UN1005")], earlier)
    assert info.flows == ("f-old", flow_id("c-2", "UN1005"))  # each once, the earlier first
    assert info.decided_at_s == verdict.decided_at.timestamp()
    assert info.un_numbers == tuple(sorted({i.un_number for i in checkin.load}))
    assert LoadInfo.after_load(checkin, verdict, [], None).flows == ()


def test_follow_tracks_at_most_once_per_interval_and_closes_on_arrival():
    load = LoadInfo(T0.timestamp(), ("2.3",), ("UN1005",), flows=("f-1",))
    route = {"route_id": "rt-1", "coordinates": [[104.06, 30.67], [104.095, 30.715]]}
    settings = FlowSettings(arrival_radius_m=300, track_every_s=60)
    assert destination_of(route) == (104.095, 30.715)
    first = follow(ping("p1", T0, 104.07, 30.68, 40), load, route, settings)
    assert first is not None
    assert first.track == ("f-1",)
    assert first.arrived == ()
    soon = follow(ping("p2", T0 + timedelta(seconds=30), 104.07, 30.68, 40), first.load, route, settings)
    assert soon is not None
    assert soon.track == ()
    assert soon.load == first.load
    later = follow(ping("p3", T0 + timedelta(seconds=61), 104.08, 30.69, 40), first.load, route, settings)
    assert later is not None
    assert later.track == ("f-1",)
    there = follow(ping("p4", T0 + timedelta(seconds=70), 104.095, 30.7151, 0), later.load, route, settings)
    assert there is not None
    assert there.arrived == ("f-1",)
    assert there.load.flows == ()
    assert follow(ping("p5", T0, 104.07, 30.68, 40), there.load, route, settings) is None


def test_overdue_alerts_derive_their_ids_from_the_flow():
    [f] = flows_of(changed(event_id="c-1"))
    status = FlowStatus(f, last=TrackPoint(T0, 113.3, 40.08, "p-9"))
    raised = overdue_alert(status, "raised", T0 + timedelta(hours=30))
    cleared = overdue_alert(status, "cleared", T0 + timedelta(hours=31))
    assert (raised.kind, raised.alert_id, raised.state) == (OVERDUE, f"a-{f.flow_id}-{OVERDUE}", "raised")
    assert cleared.alert_id == f"a-{f.flow_id}-{OVERDUE}-cleared"
    assert raised.location is not None
    assert raised.location.lon == 113.3
    assert "UN1005" in raised.message_en
    assert "某冷库" not in raised.message_en


# --- the archive keeps flows append-only, on both backends -----------------------------------------


def test_recording_a_passed_load_opens_its_flow_once(store):  # noqa: F811
    e = flow_entry(event_id="c-1")
    store.record([e])
    store.record([e])
    [s] = store.flows()
    assert s.flow.flow_id == flow_id("c-1", "UN1005")
    assert s.closed_at is None
    assert s.last is None


def test_only_the_first_of_a_repeated_check_in_opens_flows(store):  # noqa: F811
    first = flow_entry(event_id="c-9")
    other = dataclasses.replace(
        first, flows=(dataclasses.replace(first.flows[0], flow_id="f-c-9-UN1017", un_number="UN1017"),)
    )
    assert store.record([first, other]) == 1
    assert store.record([other]) == 0  # redelivered with another load: the archive keeps the first
    assert [s.flow.flow_id for s in store.flows(plate="晋B12345")] == ["f-c-9-UN1005"]


def test_track_close_and_alert_marks_are_insert_once(store):  # noqa: F811
    store.record([flow_entry(event_id="c-1"), flow_entry(event_id="c-2", vehicle__plate="晋B22222",
                                                          documents__waybill__plate="晋B22222")])  # fmt: skip
    fid = flow_id("c-1", "UN1005")
    store.track([fid], TrackPoint(T0 + timedelta(minutes=5), 113.29, 40.07, "p-1"))
    store.track([fid], TrackPoint(T0 + timedelta(minutes=5), 113.29, 40.07, "p-1"))  # redelivered
    store.track([fid], TrackPoint(T0 + timedelta(minutes=6), 113.28, 40.06, "p-2"))
    assert store.mark_alerted(fid, OVERDUE, T0 + timedelta(hours=25)) is True
    assert store.mark_alerted(fid, OVERDUE, T0 + timedelta(hours=26)) is False
    assert store.alerted(fid, OVERDUE)
    assert not store.alerted(flow_id("c-2", "UN1005"), OVERDUE)
    [open_one] = store.flows(plate="晋B12345", open_only=True)
    assert open_one.last == TrackPoint(T0 + timedelta(minutes=6), 113.28, 40.06, "p-2")
    point = TrackPoint(T0 + timedelta(hours=1), 113.21, 40.02, "p-3")
    assert store.close_flows([fid], point.at, "arrived", "p-3", point) == [fid]
    assert store.close_flows([fid], point.at, "arrived", "p-3", point) == []
    assert [s.flow.plate for s in store.flows(open_only=True)] == ["晋B22222"]
    [closed] = store.flows(plate="晋B12345")
    assert (closed.closed_how, closed.closed_at, closed.last) == ("arrived", point.at, point)

    assert closed.closed_by == "p-3"


def test_a_redelivered_delivery_sends_its_cleared_alert_again(store):  # noqa: F811
    """The worker died after closing the flow, before the clear went out: the redelivery resends it."""
    store.record([flow_entry(event_id="c-1")])
    fid = flow_id("c-1", "UN1005")
    store.mark_alerted(fid, OVERDUE, T0 + timedelta(hours=25))
    done = T0 + timedelta(hours=30)
    [candidate] = delivered_by(store, "晋B12345", "d-1")
    first = close(store, "晋B12345", (candidate.flow.flow_id,), done, "delivery", "d-1", None)
    assert [(a.kind, a.state) for a in first] == [("flow_overdue", "cleared")]
    [again] = delivered_by(store, "晋B12345", "d-1")  # the same delivery, redelivered: its own closed flow
    assert again.closed_by == "d-1"
    resent = close(store, "晋B12345", (again.flow.flow_id,), done, "delivery", "d-1", None)
    assert [a.alert_id for a in resent] == [a.alert_id for a in first]
    assert delivered_by(store, "晋B12345", "d-2") == []  # another delivery finds nothing left to close


def test_open_flows_are_filtered_by_loading_time(store):  # noqa: F811
    store.record([flow_entry(event_id="c-1")])
    assert store.flows(open_only=True, opened_before=T0 + timedelta(hours=1)) != []
    assert store.flows(open_only=True, opened_before=T0 - timedelta(hours=1)) == []


@pytest.mark.parametrize("table", ["flows", "flow_track", "flow_closures", "flow_alerts"])
def test_flow_rows_cannot_be_updated_or_deleted(store, table):  # noqa: F811
    store.record([flow_entry(event_id="c-1")])
    fid = flow_id("c-1", "UN1005")
    store.close_flows([fid], T0, "delivery", "d-1", TrackPoint(T0, 113.2, 40.0, "d-1"))
    store.mark_alerted(fid, OVERDUE, T0)
    db, error = raw_db(store)
    with pytest.raises(error, match="append-only"):
        db.execute(f"DELETE FROM {table}")
    db.close()
