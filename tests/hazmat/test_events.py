"""Event models: strict validation with field-level errors, one case per kind of bad input."""

from __future__ import annotations

import json

import pytest

from hazmat.events import EVENT_MODELS, Alert, CheckIn, InvalidEvent, Position, RouteRequest, decode, format_loc
from tests.helpers import base, changed


def errors_of(data: dict | str | bytes) -> list[tuple[str, str]]:
    raw = data if isinstance(data, str | bytes) else json.dumps(data, ensure_ascii=False)
    with pytest.raises(InvalidEvent) as info:
        decode(CheckIn, raw)
    return [(format_loc(e["loc"]), e["msg"]) for e in info.value.errors]


def test_the_spec_example_is_valid():
    checkin = decode(CheckIn, json.dumps(base(), ensure_ascii=False))
    assert checkin.vehicle.plate == "晋B12345"
    assert checkin.occurred_at.utcoffset().total_seconds() == 8 * 3600


def test_bytes_are_accepted_as_utf8():
    assert decode(CheckIn, json.dumps(base(), ensure_ascii=False).encode()).event_id == "checkin-load"


def test_nullable_parts_may_be_absent():
    data = base()
    for key in ("carrier", "escort", "tank"):
        del data[key]
    del data["vehicle"]["transport_permit"]
    data["documents"] = {}
    assert decode(CheckIn, json.dumps(data)).escort is None


@pytest.mark.parametrize(
    ("change", "loc", "msg_part"),
    [
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"vehicle__colour": "red"}, "vehicle.colour", "Extra inputs are not permitted"),
        ({"occurred_at": "2026-11-26T08:30:00"}, "occurred_at", "timezone"),
        ({"occurred_at": "yesterday"}, "occurred_at", "datetime"),
        ({"vehicle__plate": "B12345"}, "vehicle.plate", "not a valid plate"),
        ({"vehicle__plate": "晋b12345"}, "vehicle.plate", "not a valid plate"),
        ({"vehicle__trailer_plate": "晋B6789"}, "vehicle.trailer_plate", "not a valid trailer plate"),
        ({"load__0__un_number": "1005"}, "load[0].un_number", "not a valid UN number"),
        ({"load__0__hazard_class": "10"}, "load[0].hazard_class", "not a valid hazard class"),
        ({"load__0__quantity_kg": -1}, "load[0].quantity_kg", "greater than 0"),
        ({"load__0__quantity_kg": 0}, "load[0].quantity_kg", "greater than 0"),
        ({"load__0__quantity_kg": "24000"}, "load[0].quantity_kg", "valid number"),
        ({"load": []}, "load", "at least 1 item"),
        ({"schema_version": 2}, "schema_version", "Input should be 1"),
        ({"schema_version": "1"}, "schema_version", "Input should be 1"),
        ({"vehicle__gps_terminal_online": "yes"}, "vehicle.gps_terminal_online", "valid boolean"),
        ({"vehicle__rated_load_kg": None}, "vehicle.rated_load_kg", "valid number"),
        ({"driver__id_number": "123"}, "driver.id_number", "not a valid id number"),
        ({"driver__certificate__kind": "pilot"}, "driver.certificate.kind", "'dg_driver' or 'dg_escort'"),
        ({"tank__inspection_valid_until": "2027-02-30"}, "tank.inspection_valid_until", "date"),
        ({"event_id": ""}, "event_id", "not a valid event id"),
        ({"site_id": ""}, "site_id", "at least 1 character"),
        ({"site_id": "x" * 201}, "site_id", "at most 200 characters"),
        ({"driver": ...}, "driver", "Field required"),
        ({"documents__waybill__items": []}, "documents.waybill.items", "at least 1 item"),
    ],
)
def test_invalid_input_is_rejected_with_the_field_named(change, loc, msg_part):
    errors = errors_of(changed(**change))
    assert any(where == loc and msg_part in msg for where, msg in errors), errors


def test_every_problem_is_reported_at_once():
    errors = errors_of(changed(vehicle__plate="x", load__0__un_number="y", colour="z"))
    assert {loc for loc, _ in errors} == {"vehicle.plate", "load[0].un_number", "colour"}


@pytest.mark.parametrize(
    ("raw", "msg_part"),
    [
        ("{not json", "Invalid JSON"),
        ("", "Invalid JSON"),
        ("[1, 2]", "Input should be an object"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, ""),
    ],
)
def test_broken_input_gives_an_error_not_an_exception(raw, msg_part):
    errors = errors_of(raw)
    assert errors
    assert any(msg_part in msg for _, msg in errors), errors


def test_invalid_event_message_names_every_field():
    with pytest.raises(InvalidEvent, match=r"vehicle\.plate: not a valid plate"):
        decode(CheckIn, json.dumps(changed(vehicle__plate="x"), ensure_ascii=False))


def test_the_spec_route_request_position_and_alert_are_valid():
    request = decode(
        RouteRequest,
        '{"schema_version": 1, "request_id": "r-0001", "plate": "晋B12345",'
        ' "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 24000}],'
        ' "origin": {"lon": 113.30, "lat": 40.08}, "destination": {"lon": 113.21, "lat": 40.02},'
        ' "depart_at": "2026-11-26T09:00:00+08:00"}',
    )
    assert request.optimize == "time"
    position = decode(
        Position,
        '{"schema_version": 1, "event_id": "p-0001", "plate": "晋B12345",'
        ' "at": "2026-11-26T09:05:00+08:00", "lon": 113.29, "lat": 40.07, "speed_kmh": 52.0}',
    )
    assert position.speed_kmh == 52.0
    alert = decode(
        Alert,
        '{"schema_version": 1, "alert_id": "a-p-0001-zone_entry", "kind": "zone_entry", "severity": "high",'
        ' "plate": "晋B12345", "at": "2026-11-26T09:05:00+08:00", "location": {"lon": 113.29, "lat": 40.07},'
        ' "rule_ids": ["ZON-001"], "zone_id": "ws-cetian", "source_event_id": "p-0001", "state": "raised",'
        ' "message_zh": "…", "message_en": "…"}',
    )
    assert alert.kind == "zone_entry"


def test_position_out_of_range():
    with pytest.raises(InvalidEvent, match="lat"):
        decode(
            Position,
            '{"schema_version": 1, "event_id": "p", "plate": "晋B12345", "at": "2026-11-26T09:05:00+08:00",'
            ' "lon": 113.29, "lat": 95, "speed_kmh": 1}',
        )


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
def test_every_event_has_a_json_schema(name):
    schema = EVENT_MODELS[name].model_json_schema()
    assert schema["type"] == "object"
    assert schema.get("additionalProperties") is False
