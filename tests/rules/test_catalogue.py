"""The catalogue against the spec's table, and the engine's guarantees."""

from __future__ import annotations

import dataclasses
import re
import string

import pytest

from hazmat.events import Alert
from hazmat.rules import all_rules, catalogue, evaluate, get, monitoring_rules, rule_ids
from hazmat.rules.catalogue import rule
from hazmat.rules.monitoring import for_kind
from tests.helpers import SETTINGS, SPEC, changed, judge, to_checkin

_ROW = re.compile(r"^\| ([A-Z]{3}-\d{3}) \| (refuse|warn) \| .* \| `([^`]+)`")
_MONITORING_ROW = re.compile(r"^\| ([A-Z]{3}-\d{3}) \| `([a-z_]+)` \| .* \| ([^|]+) \|$")


def spec_table() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (SPEC / "rules.md").read_text(encoding="utf-8").splitlines():
        if m := _ROW.match(line):
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_catalogue_matches_the_spec_table():
    table = spec_table()
    assert len(table) >= 24
    ours = {r.id: (r.severity, r.field) for r in all_rules()}
    assert ours == table


def test_the_monitoring_rules_match_the_spec_table():
    table = {}
    for line in (SPEC / "rules.md").read_text(encoding="utf-8").splitlines():
        if m := _MONITORING_ROW.match(line):
            table[m.group(1)] = (m.group(2), m.group(3).strip())
    assert len(table) >= 5
    assert {r.id: (r.kind, r.basis) for r in monitoring_rules()} == table
    # no id is both a check-in rule and a monitoring rule
    assert not set(table) & set(rule_ids())


def test_every_monitoring_rule_names_an_alert_kind_and_says_it_in_both_languages():
    kinds = set(Alert.model_fields["kind"].annotation.__args__)
    for r in monitoring_rules():
        assert r.kind in kinds, r.id
        assert for_kind(r.kind) is r
        assert r.summary_zh, r.id
        assert r.summary_en, r.id
    with pytest.raises(KeyError, match="no monitoring rule for alert kind 'invalid_event'"):
        for_kind("invalid_event")


def test_every_rule_has_messages_in_both_languages_with_the_same_placeholders():
    for r in all_rules():
        assert r.basis, r.id
        assert r.summary_zh, r.id
        assert r.summary_en, r.id
        for reason, (zh, en) in r.messages.items():
            names = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
            assert zh, (r.id, reason)
            assert en, (r.id, reason)
            # a parameter ``x_en`` is the English text of ``x``
            assert names(zh) == {n.removesuffix("_en") for n in names(en)}, (r.id, reason)


def test_rules_iterate_in_id_order_and_can_be_looked_up():
    ids = rule_ids()
    assert ids == sorted(ids)
    assert get("TNK-001").part == "tank"
    with pytest.raises(KeyError, match="no rule 'XXX-001'; known ids: CAR-001"):
        get("XXX-001")


def test_a_duplicate_rule_id_fails_at_registration():
    with pytest.raises(ValueError, match="rule id TNK-001 is registered twice"):
        rule("TNK-001", severity="refuse", field="x", basis="b", summary_zh="s", summary_en="s", messages={})(
            lambda c, ctx: iter(())
        )


def _raising(checkin, ctx):
    raise ZeroDivisionError


@pytest.fixture
def broken_tnk003():
    old = catalogue.replace(dataclasses.replace(get("TNK-003"), check=_raising))
    yield
    catalogue.replace(old)


@pytest.mark.usefixtures("broken_tnk003")
def test_a_rule_that_raises_refuses_and_is_logged(caplog):
    verdict = evaluate(to_checkin(changed()), SETTINGS)
    assert verdict.verdict == "refuse"
    [f] = verdict.findings
    assert (f.rule_id, f.severity, f.field) == ("TNK-003", "refuse", "tank.capacity_kg")
    assert "ZeroDivisionError" in f.message_en
    [record] = [r for r in caplog.records if r.name == "hazmat.rules"]
    assert (record.rule_id, record.event_id, record.plate) == ("TNK-003", "checkin-load", "晋B12345")


@pytest.mark.usefixtures("broken_tnk003")
def test_strict_mode_reraises():
    with pytest.raises(ZeroDivisionError):
        evaluate(to_checkin(changed()), SETTINGS, strict=True)


def test_verdict_fields_derive_from_the_checkin():
    v = judge(changed(event_id="evt-42", occurred_at="2026-11-26T09:00:00+08:00"))
    assert v.verdict_id == "v-evt-42"
    assert v.checkin_event_id == "evt-42"
    assert v.decided_at.isoformat() == "2026-11-26T09:00:00+08:00"
    assert v.ruleset_version == SETTINGS.ruleset_version


def test_findings_are_sorted_by_rule_id_and_refuse_wins_over_warn():
    data = changed(
        vehicle__plate="冀A34567",
        documents__waybill__plate="冀A34567",
        tank__inspection_valid_until="2020-01-01",
        documents__sds_and_label=False,
        vehicle__gps_terminal_online=False,
    )
    v = judge(data)
    assert [f.rule_id for f in v.findings] == ["DOC-005", "OOP-001", "TNK-001", "VEH-004"]
    assert v.verdict == "refuse"


def test_the_same_event_gives_the_same_verdict():
    data = changed(tank__inspection_valid_until="2026-10-01")
    assert judge(data) == judge(data)
