"""DOC-*: the waybill against reality, SDS and label, the toxic pass, flow registration."""

from __future__ import annotations

import pytest

from hazmat.rules import RuleSettings
from tests.helpers import changed, findings, only, rule_ids


def test_doc001_no_waybill_fires_alone():
    # No waybill: DOC-001 only, never DOC-002/3/4/7 about the missing waybill's content.
    f = only(changed(documents__waybill=None))
    assert (f.rule_id, f.field, f.message_zh) == ("DOC-001", "documents.waybill", "未提供危险货物运单")


def test_doc002_waybill_lists_other_goods():
    f = only(changed(documents__waybill__items=[{"un_number": "UN1017", "quantity_kg": 24000}]))
    assert (f.rule_id, f.field) == ("DOC-002", "documents.waybill.items")
    assert f.message_en == "Waybill does not match the load: not on waybill UN1005; on waybill only UN1017"


def test_doc002_extra_item_on_waybill():
    items = [{"un_number": "UN1005", "quantity_kg": 24000}, {"un_number": "UN1017", "quantity_kg": 100}]
    assert rule_ids(changed(documents__waybill__items=items)) == ["DOC-002"]


@pytest.mark.parametrize(
    ("waybill_kg", "fires"),
    [(24_480, False), (24_480.5, True), (23_520, False), (23_519.5, True), (24_000, False)],
)
def test_doc003_tolerance_is_two_percent_of_the_load(waybill_kg, fires):
    found = findings(changed(documents__waybill__items__0__quantity_kg=waybill_kg))
    assert [f.rule_id for f in found] == (["DOC-003"] if fires else [])
    if fires:
        assert found[0].field == "documents.waybill.items[0].quantity_kg"


def test_doc003_tolerance_from_config():
    data = changed(documents__waybill__items__0__quantity_kg=24_400)
    assert rule_ids(data, RuleSettings(waybill_tolerance=0.01)) == ["DOC-003"]
    assert rule_ids(data, RuleSettings(waybill_tolerance=0.02)) == []


def test_doc003_message_names_both_quantities():
    f = only(changed(documents__waybill__items__0__quantity_kg=26_000))
    assert f.message_zh == "UN1005 运单数量 26000 kg 与实际装载 24000 kg 偏差超过 2%"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("documents__waybill__plate", "晋B54321", "documents.waybill.plate"),
        ("documents__waybill__driver_id_number", "140202199901011234", "documents.waybill.driver_id_number"),
        ("documents__waybill__escort_id_number", "140202199901011234", "documents.waybill.escort_id_number"),
        ("documents__waybill__escort_id_number", None, "documents.waybill.escort_id_number"),
    ],
)
def test_doc004_waybill_names_another_vehicle_or_crew(path, value, field):
    f = only(changed(**{path: value}))
    assert (f.rule_id, f.field) == ("DOC-004", field)


def test_doc004_all_three_differ_gives_three_findings():
    data = changed(
        documents__waybill__plate="晋B54321",
        documents__waybill__driver_id_number="140202199901011234",
        documents__waybill__escort_id_number="140202199901011235",
    )
    assert [f.field for f in findings(data)] == [
        "documents.waybill.plate",
        "documents.waybill.driver_id_number",
        "documents.waybill.escort_id_number",
    ]


@pytest.mark.parametrize("value", [False, None])
def test_doc005_sds_and_label(value):
    f = only(changed(documents__sds_and_label=value))
    assert (f.rule_id, f.field) == ("DOC-005", "documents.sds_and_label")


CYANIDE = {
    "tank": None,
    "load": [{"un_number": "UN1689", "name": "氰化钠", "hazard_class": "6.1", "quantity_kg": 8000}],
    "documents__waybill__items": [{"un_number": "UN1689", "quantity_kg": 8000}],
    "vehicle__transport_permit__scope": ["6.1"],
}
PASS = {"number": "TP-001", "valid_until": "2026-11-30", "un_numbers": ["UN1689"], "quantity_kg": 8000}


def test_doc006_toxic_load_without_pass():
    f = only(changed(**CYANIDE))
    assert (f.rule_id, f.field) == ("DOC-006", "documents.toxic_pass")
    assert f.message_zh == "装载剧毒化学品 UN1689，未提供剧毒化学品道路运输通行证"


def test_doc006_valid_pass_holds():
    assert findings(changed(**CYANIDE, documents__toxic_pass=PASS)) == []


@pytest.mark.parametrize(
    ("change", "message_en"),
    [
        ({"valid_until": "2026-11-25"}, "Toxic-chemical pass TP-001 expired on 2026-11-25"),
        ({"un_numbers": ["UN1680"]}, "Toxic-chemical pass TP-001 does not name UN1689"),
        ({"quantity_kg": 7999}, "Toxic-chemical pass TP-001 allows 7999 kg, 8000 kg loaded"),
    ],
)
def test_doc006_pass_that_does_not_cover_the_load(change, message_en):
    f = only(changed(**CYANIDE, documents__toxic_pass={**PASS, **change}))
    assert (f.rule_id, f.message_en) == ("DOC-006", message_en)


def test_doc006_not_for_non_toxic_loads():
    assert findings(changed()) == []


def test_doc007_high_hazard_without_consignee():
    f = only(changed(documents__waybill__consignee=None))
    assert (f.rule_id, f.field) == ("DOC-007", "documents.waybill")
    assert f.message_zh == "高危化学品 UN1005 的运单缺少收货人（流向登记）"


def test_doc007_names_both_missing_parts():
    f = only(changed(documents__waybill__consignee=None, documents__waybill__destination=...))
    assert f.message_en == "High-hazard UN1005: the waybill lacks consignee and destination (flow registration)"


def test_doc007_not_for_ordinary_loads():
    data = changed(
        load__0__un_number="UN1203",
        load__0__hazard_class="3",
        documents__waybill__items__0__un_number="UN1203",
        tank__approved_un_numbers=["UN1203"],
        documents__waybill__consignee=None,
    )
    assert findings(data) == []
