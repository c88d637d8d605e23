"""OOP-001: out-of-province vehicles need a valid filing (a warning by default)."""

from __future__ import annotations

from hazmat.rules import RuleSettings
from tests.helpers import changed, findings, judge, only

OUTSIDER = {"vehicle__plate": "冀A34567", "documents__waybill__plate": "冀A34567"}


def test_oop001_out_of_province_without_filing_warns_but_loads():
    verdict = judge(changed(**OUTSIDER))
    assert verdict.verdict == "load"
    [f] = verdict.findings
    assert (f.rule_id, f.severity, f.field) == ("OOP-001", "warn", "documents.out_of_province_filing")
    assert f.message_zh == "外省车辆（冀）未登记报备"


def test_oop001_valid_filing_holds():
    data = changed(**OUTSIDER, documents__out_of_province_filing={"number": "F-1", "valid_until": "2026-11-26"})
    assert findings(data) == []


def test_oop001_expired_filing():
    data = changed(**OUTSIDER, documents__out_of_province_filing={"number": "F-1", "valid_until": "2026-11-25"})
    assert only(data).message_en == "Out-of-province filing F-1 (冀) expired on 2026-11-25"


def test_oop001_local_vehicle_holds_in_another_city():
    assert findings(changed(), RuleSettings(province="晋")) == []
    assert [f.rule_id for f in findings(changed(), RuleSettings(province="黑"))] == ["OOP-001"]


def test_severity_override_turns_the_warning_into_a_refusal():
    verdict = judge(changed(**OUTSIDER), RuleSettings(severities={"OOP-001": "refuse"}))
    assert verdict.verdict == "refuse"
    assert verdict.findings[0].severity == "refuse"


def test_severity_off_disables_a_rule():
    assert judge(changed(**OUTSIDER), RuleSettings(severities={"OOP-001": "off"})).findings == []
