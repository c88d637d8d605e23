"""TNK-*: tank inspection, approved media, capacity; none of them for packaged goods."""

from __future__ import annotations

from tests.helpers import changed, findings, only


def test_tnk001_expired_tank_inspection_matches_the_spec_example():
    f = only(changed(tank__inspection_valid_until="2026-10-01"))
    assert f.model_dump() == {
        "rule_id": "TNK-001",
        "severity": "refuse",
        "field": "tank.inspection_valid_until",
        "message_zh": "罐体检验已过期（有效期至 2026-10-01）",
        "message_en": "Tank inspection expired on 2026-10-01",
        "basis": "危险货物道路运输安全管理办法 第二十五条; 实施方案 二(七)",
    }


def test_tnk001_last_day_holds():
    assert findings(changed(tank__inspection_valid_until="2026-11-26")) == []


def test_tnk_rules_do_not_apply_to_packaged_goods():
    assert findings(changed(tank=None)) == []


def test_tnk002_medium_not_approved():
    f = only(changed(tank__approved_un_numbers=["UN1017"]))
    assert (f.rule_id, f.field) == ("TNK-002", "load[0].un_number")
    assert f.message_en == "UN1005 is not an approved medium of tank TK-140200-0001 (UN1017)"


def test_tnk002_empty_approved_list_refuses_everything():
    assert only(changed(tank__approved_un_numbers=[])).rule_id == "TNK-002"


def test_tnk003_over_capacity():
    f = only(changed(tank__capacity_kg=23_999))
    assert (f.rule_id, f.field) == ("TNK-003", "tank.capacity_kg")
    assert f.message_zh == "装载 24000 kg，超过罐体容量 23999 kg"


def test_tnk003_exactly_full_holds():
    assert findings(changed(tank__capacity_kg=24_000)) == []
