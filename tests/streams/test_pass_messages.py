"""Messages of the hazmat.passes topic without Kafka: a pass, a revocation, or a dead letter with its alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hazmat.cityconfig import load_city
from hazmat.events import Alert, DeadLetter, decode
from hazmat.streams import handlers, names
from hazmat.streams.passes import PassChange, handle_pass
from tests.hazmat.test_passes import PASS

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
FEATURES = load_city("harbin").zones.features


def source(key: bytes | None = b"HRB-2026-0001") -> handlers.Source:
    return handlers.Source(topic="hazmat.passes", partition=1, offset=7, key=key)


def raw(**changes) -> bytes:
    return json.dumps({**PASS, **changes}, ensure_ascii=False).encode()


def refused(result) -> tuple[DeadLetter, Alert, bytes | None]:
    assert isinstance(result, handlers.Handled)
    dead_out, alert_out = result.outputs
    assert dead_out.topic is names.DLQ
    assert dead_out.key == b"HRB-2026-0001"  # the original key
    assert alert_out.topic is names.ALERTS
    return decode(DeadLetter, dead_out.value), decode(Alert, alert_out.value), alert_out.key


def test_a_pass_is_put_and_a_tombstone_revokes_it():
    change = handle_pass(raw(), source(), NOW, FEATURES)
    assert isinstance(change, PassChange)
    assert change.pass_id == "HRB-2026-0001"
    assert change.granted.zone_ids == ["rs-daoli-nangang"]
    assert handle_pass(None, source(), NOW, FEATURES) == PassChange("HRB-2026-0001", None)


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"zone_ids": ["ws-songhua-zhushuntun"]}, ["zone_ids", 0], "a pass never opens one"),
        ({"zone_ids": ["osm-way-1"]}, ["zone_ids", 0], "water-source area"),
        ({"zone_ids": ["rs-nowhere"]}, ["zone_ids", 0], "no zone 'rs-nowhere'"),
        ({"pass_id": "OTHER"}, ["pass_id"], "differs from the key"),
        ({"valid_until": "2026-11-26T07:00:00+08:00"}, ["valid_until"], "is not after valid_from"),
    ],
)
def test_a_pass_the_city_refuses_is_a_dead_letter_and_an_alert_for_its_plate(changes, loc, words):
    dead, alert, key = refused(handle_pass(raw(**changes), source(), NOW, FEATURES))
    assert [e.loc for e in dead.errors] == [loc]
    assert words in dead.error
    assert dead.raw == raw(**changes).decode()
    assert (alert.kind, alert.plate, key) == ("invalid_event", "黑A12345", "黑A12345".encode())
    assert alert.alert_id == "a-hazmat.passes-1-7-invalid_event"


def test_broken_json_names_no_plate_and_a_message_without_key_is_refused():
    dead, alert, key = refused(handle_pass(b"{not json", source(), NOW, FEATURES))
    assert alert.plate is None
    assert key is None
    assert dead.errors
    no_key = handle_pass(raw(), source(None), NOW, FEATURES)
    assert isinstance(no_key, handlers.Handled)
    assert "needs its pass_id as key" in decode(DeadLetter, no_key.outputs[0].value).error
