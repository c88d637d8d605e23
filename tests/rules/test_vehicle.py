"""VEH-*: one change to the spec's valid check-in, one finding (or none) per case."""

from __future__ import annotations

import pytest

from hazmat.hazard_classes import covers
from hazmat.rules import Blacklist, RuleSettings
from tests.helpers import changed, findings, only, rule_ids


def test_veh001_missing_permit_fires_alone_without_veh002():
    f = only(changed(vehicle__transport_permit=None))
    assert (f.rule_id, f.severity, f.field) == ("VEH-001", "refuse", "vehicle.transport_permit")
    assert f.message_zh == "未提供道路运输证"
    assert f.message_en == "No road transport permit"


def test_veh001_absent_key_is_the_same_as_null():
    assert rule_ids(changed(vehicle__transport_permit=...)) == ["VEH-001"]


def test_veh001_expired_names_the_date():
    f = only(changed(vehicle__transport_permit__valid_until="2026-11-25"))
    assert f.rule_id == "VEH-001"
    assert f.message_zh == "道路运输证已过期（有效期至 2026-11-25）"
    assert f.message_en == "Road transport permit expired on 2026-11-25"


def test_veh001_valid_through_its_last_day():
    assert findings(changed(vehicle__transport_permit__valid_until="2026-11-26")) == []


def test_veh001_utc_time_whose_local_date_is_the_next_day():
    # 16:30 UTC on the 26th is 00:30 on the 27th in Asia/Shanghai: the permit has expired.
    data = changed(occurred_at="2026-11-26T16:30:00Z", vehicle__transport_permit__valid_until="2026-11-26")
    assert rule_ids(data) == ["VEH-001"]
    data = changed(occurred_at="2026-11-26T15:59:59+00:00", vehicle__transport_permit__valid_until="2026-11-26")
    assert rule_ids(data) == []


@pytest.mark.parametrize(
    ("scope", "hazard_class", "covered"),
    [
        (["2.3"], "2.3", True),
        (["2"], "2.3", True),
        (["2"], "2", True),
        (["2.3"], "2.1", False),
        (["2.3"], "2", False),
        (["3", "8"], "2.3", False),
        (["1"], "1.4", True),
        (["2"], "22", False),
    ],
)
def test_covers(scope, hazard_class, covered):
    assert covers(scope, hazard_class) is covered


def test_veh002_class_outside_scope_names_the_load_item():
    f = only(changed(vehicle__transport_permit__scope=["2.1", "3", "8"]))
    assert (f.rule_id, f.field) == ("VEH-002", "load[0].hazard_class")
    assert f.message_zh == "UN1005 的危险货物类别 2.3 不在道路运输证经营范围（2.1, 3, 8）内"
    assert f.message_en == "Hazard class 2.3 of UN1005 is not within the permit scope (2.1, 3, 8)"


def test_veh002_whole_class_covers_its_divisions():
    assert findings(changed(vehicle__transport_permit__scope=["2"])) == []


def test_veh002_division_does_not_cover_a_sibling():
    data = changed(vehicle__transport_permit__scope=["2.1"])
    assert rule_ids(data) == ["VEH-002"]


def test_veh002_applies_even_when_the_permit_expired():
    data = changed(vehicle__transport_permit__scope=["3"], vehicle__transport_permit__valid_until="2020-01-01")
    assert rule_ids(data) == ["VEH-001", "VEH-002"]


@pytest.mark.parametrize(
    ("value", "message_en"),
    [
        (None, "No vehicle annual inspection date given"),
        ("2026-11-25", "Vehicle annual inspection expired on 2026-11-25"),
    ],
)
def test_veh003_missing_or_expired(value, message_en):
    f = only(changed(vehicle__annual_inspection_valid_until=value))
    assert (f.rule_id, f.field, f.message_en) == ("VEH-003", "vehicle.annual_inspection_valid_until", message_en)


def test_veh003_last_day_holds():
    assert findings(changed(vehicle__annual_inspection_valid_until="2026-11-26")) == []


@pytest.mark.parametrize(("value", "zh"), [(False, "卫星定位终端不在线"), (None, "未确认卫星定位终端在线")])
def test_veh004_gps_not_online(value, zh):
    f = only(changed(vehicle__gps_terminal_online=value))
    assert (f.rule_id, f.field, f.message_zh) == ("VEH-004", "vehicle.gps_terminal_online", zh)


def _loaded(kg: float) -> dict:
    return changed(
        load__0__quantity_kg=kg,
        documents__waybill__items__0__quantity_kg=kg,
        tank__capacity_kg=100_000,
    )


def test_veh005_exactly_the_rated_load_holds():
    assert findings(_loaded(30_000)) == []


def test_veh005_one_kilogram_over_fires_on_load():
    f = only(_loaded(30_001))
    assert (f.rule_id, f.field) == ("VEH-005", "load")
    assert f.message_zh == "超载：装载 30001 kg，超过核定载质量 30000 kg"


def test_veh005_sums_every_load_item():
    data = _loaded(20_000)
    data["load"].append({"un_number": "UN1005", "name": "液氨", "hazard_class": "2.3", "quantity_kg": 10_500})
    data["documents"]["waybill"]["items"][0]["quantity_kg"] = 30_500
    assert rule_ids(data) == ["VEH-005"]


BLACKLISTED = RuleSettings(blacklist=Blacklist(plates={"晋B12345": "伪造证件", "晋B6789挂": "非法改装"}))


def test_veh006_plate_and_trailer_on_the_blacklist_each_get_a_finding():
    found = findings(changed(), BLACKLISTED)
    assert [(f.rule_id, f.field) for f in found] == [
        ("VEH-006", "vehicle.plate"),
        ("VEH-006", "vehicle.trailer_plate"),
    ]
    assert found[0].message_zh == "车辆 晋B12345 已列入黑名单（伪造证件）"


def test_veh006_plate_not_listed_holds():
    data = changed(vehicle__plate="晋B54321", documents__waybill__plate="晋B54321", vehicle__trailer_plate=None)
    assert findings(data, BLACKLISTED) == []
