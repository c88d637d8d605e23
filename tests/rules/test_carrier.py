"""CAR-*: the carrier's licence and the blacklist."""

from __future__ import annotations

from hazmat.rules import Blacklist, RuleSettings
from tests.helpers import changed, findings, only, rule_ids


def test_car001_no_carrier_fires_alone():
    f = only(changed(carrier=None))
    assert (f.rule_id, f.field, f.message_en) == ("CAR-001", "carrier", "No carrier or carrier licence given")


def test_car001_expired_licence_names_the_date():
    f = only(changed(carrier__license_valid_until="2026-11-25"))
    assert f.rule_id == "CAR-001"
    assert f.message_zh == "承运人道路危险货物运输许可已过期（有效期至 2026-11-25）"


def test_car001_last_day_holds():
    assert findings(changed(carrier__license_valid_until="2026-11-26")) == []


LISTED = RuleSettings(blacklist=Blacklist(carriers={"晋交运管许可大字140200000123号": "重大事故"}))


def test_car002_blacklisted_carrier():
    f = only(changed(), LISTED)
    assert (f.rule_id, f.field) == ("CAR-002", "carrier.license_number")
    assert f.message_zh == "承运人许可证 晋交运管许可大字140200000123号 已列入黑名单（重大事故）"


def test_car002_does_not_fire_without_a_carrier():
    assert rule_ids(changed(carrier=None), LISTED) == ["CAR-001"]


def test_car002_other_carrier_holds():
    assert findings(changed(carrier__license_number="晋交运管许可大字140200000124号"), LISTED) == []
