"""PER-*: crew certificates, the escort, the blacklist."""

from __future__ import annotations

import pytest

from hazmat.rules import Blacklist, RuleSettings
from tests.helpers import changed, findings, only, rule_ids


@pytest.mark.parametrize(
    ("certificate", "message_en"),
    [
        (None, "Driver has no dangerous-goods certificate"),
        (
            {"number": "DG1", "kind": "dg_escort", "valid_until": "2029-01-01"},
            "Driver's certificate DG1 is of kind dg_escort, dg_driver required",
        ),
        (
            {"number": "DG1", "kind": "dg_driver", "valid_until": "2026-11-25"},
            "Driver's certificate DG1 expired on 2026-11-25",
        ),
    ],
)
def test_per001_driver_certificate(certificate, message_en):
    f = only(changed(driver__certificate=certificate))
    assert (f.rule_id, f.field, f.message_en) == ("PER-001", "driver.certificate", message_en)


def test_per001_last_day_holds():
    assert findings(changed(driver__certificate__valid_until="2026-11-26")) == []


def test_per002_no_escort_fires_alone():
    # The waybill still names an escort; the rules about the escort do not fire without one.
    f = only(changed(escort=None))
    assert (f.rule_id, f.field, f.message_zh) == ("PER-002", "escort", "未配备押运人员")


@pytest.mark.parametrize(
    ("certificate", "zh"),
    [
        (None, "押运人员未提供从业资格证"),
        (
            {"number": "DG2", "kind": "dg_driver", "valid_until": "2029-01-01"},
            "押运人员从业资格证 DG2 类别为道路危险货物运输驾驶人员，应为押运人员",
        ),
        (
            {"number": "DG2", "kind": "dg_escort", "valid_until": "2026-11-25"},
            "押运人员从业资格证 DG2 已过期（有效期至 2026-11-25）",
        ),
    ],
)
def test_per003_escort_certificate(certificate, zh):
    f = only(changed(escort__certificate=certificate))
    assert (f.rule_id, f.field, f.message_zh) == ("PER-003", "escort.certificate", zh)


def test_per004_escort_is_the_driver():
    same = "140202198001011234"
    f = only(changed(escort__id_number=same, documents__waybill__escort_id_number=same))
    assert (f.rule_id, f.field) == ("PER-004", "escort.id_number")
    assert same in f.message_en


LISTED = RuleSettings(
    blacklist=Blacklist(persons={"140202198001011234": "酒驾", "140202198502021234": "证件造假"}),
)


def test_per005_driver_and_escort_listed():
    found = findings(changed(), LISTED)
    assert [(f.rule_id, f.field) for f in found] == [("PER-005", "driver.id_number"), ("PER-005", "escort.id_number")]
    assert found[0].message_zh == "人员 140202198001011234 已列入黑名单（酒驾）"


def test_per005_no_escort_only_checks_the_driver():
    assert [(f.rule_id, f.field) for f in findings(changed(escort=None), LISTED)] == [
        ("PER-002", "escort"),
        ("PER-005", "driver.id_number"),
    ]


def test_per005_unlisted_crew_holds():
    assert rule_ids(changed(), RuleSettings(blacklist=Blacklist(persons={"110101199001011234": "x"}))) == []
