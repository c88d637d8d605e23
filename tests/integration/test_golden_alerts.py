"""The recording of what the worker sends (tests/data/golden/, benchmarks/record_alerts.py).

Made with the faust worker; the Quix worker (issue #15) reproduces it exactly. The fast tests check
that the recording is what the recorder says it is (whole alerts, sorted per plate in
arrival order, lasting conditions raised before they clear, inputs the recorder still
makes); the slow one plays both scenarios through a real worker and compares line by line.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from benchmarks.record_alerts import (
    GOLDEN,
    SCENARIOS,
    WALL_CLOCK,
    demo_checkins,
    differences,
    fleet_plan,
    run,
)
from hazmat.events import Alert, DeadLetter, Verdict
from tests.kafka_helpers import new_prefix

CHECKIN_KINDS = {"checkin_refused", "out_of_province"}
PING = re.compile(r"^(demo-trip|demo-rogue|fleet-(\d{3}))-(\d{5})$")


def lines(scenario: str, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (GOLDEN / scenario / name).read_text(encoding="utf-8").splitlines()]


def meta(scenario: str) -> dict[str, Any]:
    return json.loads((GOLDEN / scenario / "meta.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_line_is_a_whole_event_and_the_counts_match_the_meta(scenario: str) -> None:
    m = meta(scenario)
    for name, count in m["outputs"].items():
        assert len(lines(scenario, name)) == count, name
    alerts = lines(scenario, "alerts.jsonl")
    for a in alerts:
        stamped = {**a, "at": "2026-11-26T00:00:00+00:00"} if a["at"] == WALL_CLOCK else a
        Alert.model_validate_json(json.dumps(stamped))
        assert (a["at"] == WALL_CLOCK) == (a["kind"] == "invalid_event"), a["alert_id"]
    for v in lines(scenario, "verdicts.jsonl"):
        Verdict.model_validate_json(json.dumps(v))
    for d in lines(scenario, "dead-letters.jsonl"):
        DeadLetter.model_validate_json(json.dumps({**d, "received_at": "2026-11-26T00:00:00+00:00"}))
    assert len({a["alert_id"] for a in alerts}) == len(alerts), "an alert id twice"
    assert dict(Counter(f"{a['kind']}/{a['state']}" for a in alerts)) == m["alert_kinds"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_alerts_are_grouped_by_plate_in_the_order_of_their_source_events(scenario: str) -> None:
    alerts = lines(scenario, "alerts.jsonl")
    plates = [a["plate"] for a in alerts]
    assert plates == sorted(plates)
    per_plate: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alerts:
        per_plate[a["plate"]].append(a)
    for plate, mine in per_plate.items():
        pings = [a for a in mine if a["kind"] not in CHECKIN_KINDS | {"invalid_event"}]
        assert mine[: len(mine) - len(pings)] == [a for a in mine if a not in pings], f"{plate}: check-in alerts first"
        order = [int(PING.match(a["source_event_id"]).group(3)) for a in pings]  # type: ignore[union-attr]
        assert order == sorted(order), f"{plate}: alerts out of ping order"
        sources = {PING.match(a["source_event_id"]).group(1) for a in pings}  # type: ignore[union-attr]
        assert len(sources) <= 1, f"{plate}: alerts from another vehicle's pings {sources}"
        if scenario == "fleet" and sources:
            assert sources == {f"fleet-{int(plate[3:]):03d}"}, plate


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_lasting_condition_clears_only_after_it_was_raised(scenario: str) -> None:
    open_now: dict[tuple[str, str, str | None], bool] = {}
    for a in lines(scenario, "alerts.jsonl"):
        if a["kind"] in CHECKIN_KINDS | {"invalid_event"}:
            assert a["state"] == "raised"
            continue
        key = (a["plate"], a["kind"], a["zone_id"] if a["kind"] == "zone_entry" else None)
        assert open_now.get(key, False) == (a["state"] == "cleared"), f"{key}: {a['state']} twice in a row"
        open_now[key] = a["state"] == "raised"


def test_the_demo_shows_what_the_demo_promises() -> None:
    alerts = lines("demo", "alerts.jsonl")
    raised = {(a["plate"], a["kind"]) for a in alerts if a["state"] == "raised"}
    assert {("黑A12345", "zone_entry"), ("黑A12345", "route_deviation"), ("黑A99999", "unchecked_movement")} <= raised
    assert ("XX", "invalid_event") in raised
    assert sum(a["kind"] == "checkin_refused" for a in alerts) == 7
    [route] = lines("demo", "routes.jsonl")
    assert route["status"] == "ok"
    assert "rs-daoli-nangang" in route["avoided"]


def test_the_recorder_still_makes_the_recorded_inputs() -> None:
    """Pure part of the inputs (the ping inputs need the worker's routes: the slow test covers them)."""
    plan = fleet_plan()
    assert meta("fleet")["inputs"]["checkins"] == sum(v.template is not None for v in plan)
    assert meta("fleet")["inputs"]["route requests"] == sum(v.asks_route for v in plan)
    assert meta("fleet")["vehicles"] == len(plan) == 200
    assert meta("demo")["inputs"]["checkins"] == len(demo_checkins())
    fleet_plates = {a["plate"] for a in lines("fleet", "alerts.jsonl")}
    assert fleet_plates <= {v.plate for v in plan}


@pytest.mark.slow
@pytest.mark.kafka
def test_the_worker_sends_exactly_the_recording(kafka: str, tmp_path: Path) -> None:
    recorded = run(kafka, scratch=tmp_path, prefix=new_prefix())
    assert differences(recorded) == []
