"""The processors' core without Kafka: every outcome of one message."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from hazmat.events import Alert, DeadLetter, Verdict, decode
from hazmat.rules import RuleSettings
from hazmat.streams import handlers, names
from tests.helpers import changed

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
SOURCE = handlers.Source(topic="hazmat.checkins", partition=2, offset=42, key="晋B12345".encode())


def handle(raw: bytes | None) -> handlers.Handled:
    return handlers.handle_checkin(raw, SOURCE, RuleSettings(), NOW)


def by_topic(h: handlers.Handled) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for o in h.outputs:
        out.setdefault(o.topic.base, []).append(o.value)
    return out


def raw(**changes) -> bytes:
    return json.dumps(changed(**changes), ensure_ascii=False).encode()


def test_a_valid_checkin_gives_a_verdict_keyed_by_plate_and_an_archive_entry():
    h = handle(raw())
    [verdict_out] = h.outputs
    assert verdict_out.topic is names.VERDICTS
    assert verdict_out.key == "晋B12345".encode()
    verdict = decode(Verdict, verdict_out.value)
    assert verdict.verdict == "load"
    assert h.entry is not None
    assert h.entry.raw == raw().decode()


def test_a_refused_checkin_raises_a_checkin_refused_alert():
    outs = by_topic(handle(raw(tank__inspection_valid_until="2026-10-01")))
    [alert_bytes] = outs["hazmat.alerts"]
    alert = decode(Alert, alert_bytes)
    assert (alert.kind, alert.severity, alert.rule_ids) == ("checkin_refused", "high", ["TNK-001"])
    assert alert.alert_id == "a-checkin-load-checkin_refused"
    assert "罐体检验已过期" in alert.message_zh


def test_an_out_of_province_warning_raises_an_out_of_province_alert_but_loads():
    outs = by_topic(handle(raw(vehicle__plate="冀A34567", documents__waybill__plate="冀A34567")))
    assert decode(Verdict, outs["hazmat.verdicts"][0]).verdict == "load"
    [alert] = [decode(Alert, a) for a in outs["hazmat.alerts"]]
    assert alert.kind == "out_of_province"


def test_redelivery_gives_identical_messages():
    assert (
        handle(raw(tank__inspection_valid_until="2026-10-01")).outputs
        == handle(raw(tank__inspection_valid_until="2026-10-01")).outputs
    )


@pytest.mark.parametrize(
    ("message", "loc", "msg_part"),
    [
        (b"{broken", [], "Invalid JSON"),
        (raw(colour="red"), ["colour"], "Extra inputs are not permitted"),
        (raw(load__0__quantity_kg="lots"), ["load", 0, "quantity_kg"], "valid number"),
        (raw(occurred_at="2026-11-26T08:30:00"), ["occurred_at"], "timezone"),
        (None, [], "empty message"),
    ],
)
def test_invalid_input_goes_to_the_dlq_with_the_reason_and_an_alert(message, loc, msg_part):
    h = handle(message)
    assert h.verdict is None
    assert h.entry is None
    outs = by_topic(h)
    [dead_bytes] = outs["hazmat.dlq"]
    dead = decode(DeadLetter, dead_bytes)
    assert (dead.topic, dead.partition, dead.offset) == ("hazmat.checkins", 2, 42)
    assert any(e.loc == loc and msg_part in e.msg for e in dead.errors), dead.errors
    assert msg_part in dead.error
    assert dead.raw == (message or b"").decode()
    [alert] = [decode(Alert, a) for a in outs["hazmat.alerts"]]
    assert alert.kind == "invalid_event"
    assert alert.alert_id == "a-hazmat.checkins-2-42-invalid_event"
    assert alert.plate == "晋B12345"


def test_bytes_that_are_not_utf8_are_kept_as_base64():
    message = b"\xff\xfe\x00garbage"
    dead = decode(DeadLetter, by_topic(handle(message))["hazmat.dlq"][0])
    assert dead.raw_encoding == "base64"
    assert base64.b64decode(dead.raw) == message
    assert "not UTF-8" in dead.error


def test_blacklist_entry_and_tombstone():
    entry = b'{"schema_version": 1, "list": "plates", "value": "\xe6\x99\x8bB12345", "reason": "x", "listed_on": "2026-11-01"}'
    source = handlers.Source("hazmat.blacklist", 0, 1, "晋B12345".encode())
    change = handlers.handle_blacklist(entry, source, NOW)
    assert isinstance(change, handlers.BlacklistChange)
    assert change.entry is not None
    assert change.entry.list == "plates"
    removal = handlers.handle_blacklist(None, source, NOW)
    assert removal == handlers.BlacklistChange("晋B12345", None)


def test_blacklist_value_must_match_the_key():
    entry = b'{"schema_version": 1, "list": "plates", "value": "other", "reason": "x", "listed_on": "2026-11-01"}'
    result = handlers.handle_blacklist(entry, handlers.Source("hazmat.blacklist", 0, 1, b"key"), NOW)
    assert isinstance(result, handlers.Handled)
    assert "differs from the key" in decode(DeadLetter, result.outputs[0].value).error


def test_a_bug_while_handling_becomes_a_dead_letter_naming_the_error():
    handled = handlers.internal_error(b'{"x": 1}', SOURCE, ZeroDivisionError("division by zero"), NOW)
    dlq, alert = (decode(DeadLetter, handled.outputs[0].value), decode(Alert, handled.outputs[1].value))
    assert [o.topic for o in handled.outputs] == [names.DLQ, names.ALERTS]
    assert [(e.loc, e.msg) for e in dlq.errors] == [([], "internal error: ZeroDivisionError")]
    assert (dlq.raw, dlq.offset) == ('{"x": 1}', 42)
    assert alert.kind == "invalid_event"


def test_an_alert_goes_to_the_alerts_topic_keyed_by_its_plate():
    handled = handlers.handle_checkin(
        json.dumps(changed(tank__inspection_valid_until="2020-01-01")).encode(), SOURCE, RuleSettings(), NOW
    )
    alert = next(decode(Alert, o.value) for o in handled.outputs if o.topic == names.ALERTS)
    out = handlers.alert_out(alert)
    assert (out.topic, out.key, decode(Alert, out.value)) == (names.ALERTS, "晋B12345".encode(), alert)
