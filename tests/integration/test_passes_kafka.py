"""Police passes through the real broker: the compacted hazmat.passes topic, followed by every worker."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from hazmat import cli
from hazmat.events import Position
from hazmat.streams import names, pass_topic
from tests.kafka_helpers import Tap, Worker, new_prefix, prepare, producer
from tests.routing_helpers import CHENGDU

pytestmark = pytest.mark.kafka

START = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
ORIGIN, INSIDE = (104.06, 30.67), (104.125, 30.7245)  # INSIDE: in rs-test-corner (restricted 07:00–21:00)
_ids = itertools.count()


def a_pass(pass_id: str, plate: str, **changes) -> bytes:
    body = {
        "schema_version": 1, "pass_id": pass_id, "plate": plate, "zone_ids": ["rs-test-corner"],
        "valid_from": "2026-11-26T08:00:00+08:00", "valid_until": "2026-11-26T18:00:00+08:00",
        "issued_by": "成都市公安局交通管理局", "reason": "医院液氧配送", **changes,
    }  # fmt: skip
    return json.dumps(body, ensure_ascii=False).encode()


def ask(kafka: str, prefix: str, tap: Tap, worker: Worker, plate: str, *, out_of_it: bool = False) -> dict:
    """One route request into the zone (``out_of_it``: from inside it, out) for ``plate``; its answer."""
    origin, destination = (INSIDE, ORIGIN) if out_of_it else (ORIGIN, INSIDE)
    request_id = f"rq-pass-{plate[2:]}-{next(_ids)}"
    body = {
        "schema_version": 1, "request_id": request_id, "plate": plate,
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 1000}],
        "origin": {"lon": origin[0], "lat": origin[1]}, "destination": {"lon": destination[0], "lat": destination[1]},
        "depart_at": START.isoformat(),
    }  # fmt: skip
    p = producer(kafka)
    p.send(names.ROUTE_REQUESTS.name(prefix), key=plate.encode(), value=json.dumps(body, ensure_ascii=False).encode())
    p.flush()
    p.close()

    def answered(t: Tap) -> bool:
        return any(r["request_id"] == request_id for r in t.messages["hazmat.routes"])

    tap.wait_for(answered, timeout=120, worker=worker)
    return next(r for r in tap.messages["hazmat.routes"] if r["request_id"] == request_id)


def ask_until(
    kafka: str,
    prefix: str,
    tap: Tap,
    worker: Worker,
    plate: str,
    done: Callable[[dict], bool],
    timeout: float = 60,
    **where: bool,
) -> dict:
    """Ask again until an answer shows the worker has applied the latest pass message (it follows the topic
    on its own, so a request may overtake it); fail at the deadline with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        route = ask(kafka, prefix, tap, worker, plate, **where)
        if done(route):
            return route
        assert time.monotonic() < deadline, route


@pytest.fixture(scope="module")
def env(kafka: str, chengdu_worker: Worker):
    tap = Tap(kafka, chengdu_worker.prefix, names.ROUTES, names.ALERTS, names.DLQ)
    try:
        yield chengdu_worker.prefix, chengdu_worker, tap
    finally:
        tap.close()


def test_a_pass_on_the_topic_opens_the_zone_and_a_tombstone_revokes_it(kafka, env):
    prefix, worker, tap = env
    plate = "川A30001"
    before = ask(kafka, prefix, tap, worker, plate)
    assert before["status"] == "no_permitted_route"
    assert [b["zone_id"] for b in before["blocked_by"]] == ["rs-test-corner"]
    pass_topic.send(kafka, "CD-P-30001", a_pass("CD-P-30001", plate), prefix=prefix)
    opened = ask_until(kafka, prefix, tap, worker, plate, lambda r: r["status"] == "ok")
    assert opened["passes_used"] == ["CD-P-30001"]
    assert opened["avoided"] == []
    other = ask(kafka, prefix, tap, worker, "川A30009")  # another vehicle: still closed
    assert other["status"] == "no_permitted_route"
    pass_topic.send(kafka, "CD-P-30001", None, prefix=prefix)  # the tombstone
    revoked = ask_until(kafka, prefix, tap, worker, plate, lambda r: r["status"] != "ok")
    assert revoked["status"] == "no_permitted_route"
    assert revoked["passes_used"] == []


def test_a_pass_naming_a_water_source_is_a_dead_letter_and_an_invalid_event_alert(kafka, env):
    prefix, worker, tap = env
    plate = "川A30002"
    bad = a_pass("CD-P-30002", plate, zone_ids=["osm-way-227338532"])  # the reservoir OSM maps in Chengdu
    pass_topic.send(kafka, "CD-P-30002", bad, prefix=prefix)

    def refused(t: Tap) -> bool:
        return any("CD-P-30002" in d.get("raw", "") for d in t.messages["hazmat.dlq"]) and any(
            a["kind"] == "invalid_event" and a.get("plate") == plate for a in t.messages["hazmat.alerts"]
        )

    tap.wait_for(refused, timeout=60, worker=worker)
    dead = next(d for d in tap.messages["hazmat.dlq"] if "CD-P-30002" in d.get("raw", ""))
    assert dead["topic"] == names.PASSES.name(prefix)
    assert dead["errors"][0]["loc"] == ["zone_ids", 0]
    assert "a pass never opens one" in dead["error"]
    route = ask(kafka, prefix, tap, worker, plate)  # and it opened nothing
    assert route["status"] == "no_permitted_route"


def test_monitoring_spares_the_pass_holder_until_the_pass_expires(kafka, env):
    prefix, worker, tap = env
    plate = "川A30003"
    until = START + timedelta(minutes=2)
    pass_topic.send(kafka, "CD-P-30003", a_pass("CD-P-30003", plate, valid_until=until.isoformat()), prefix=prefix)
    # the worker holds the pass now: a route out of the zone at 10:00 starts inside it (an end in an opened zone)
    ask_until(kafka, prefix, tap, worker, plate, lambda r: r["status"] == "ok", out_of_it=True)
    pings = [
        Position(
            schema_version=1,
            event_id=f"pass-ping-{k}",
            plate=plate,
            at=START + timedelta(seconds=30 * k),
            lon=INSIDE[0] + 0.0001 * k,
            lat=INSIDE[1],
            speed_kmh=20,
        )
        for k in range(1, 7)  # 10:00:30 … 10:03:00: valid, valid, valid, expired (10:02:00), …
    ]
    p = producer(kafka)
    for ping in pings:
        p.send(names.POSITIONS.name(prefix), key=plate.encode(), value=ping.model_dump_json().encode())
    p.flush()
    p.close()

    def entered(t: Tap) -> list[dict]:
        return [a for a in t.messages["hazmat.alerts"] if a.get("plate") == plate and a["kind"] == "zone_entry"]

    tap.wait_for(lambda t: bool(entered(t)), timeout=90, worker=worker)
    [entry] = entered(tap)
    assert entry["source_event_id"] == "pass-ping-4"  # the first ping after the pass ended
    assert entry["zone_id"] == "rs-test-corner"
    assert f"pass CD-P-30003 expired at {until.isoformat()}" in entry["message_en"]


def test_hazmat_pass_issue_list_and_revoke(kafka, env, monkeypatch):
    prefix, worker, tap = env
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka)
    monkeypatch.setenv("HAZMAT_TOPIC_PREFIX", prefix)
    runner = CliRunner()
    plate = "川A30004"
    city = ["--config", str(CHENGDU)]
    refused = runner.invoke(cli.app, ["pass", "issue", "--plate", plate, "--zone", "osm-way-227338532",
                                      "--from", "2026-11-26T08:00:00+08:00", "--until", "2026-11-26T18:00:00+08:00",
                                      "--issued-by", "交警", "--reason", "x", *city])  # fmt: skip
    assert refused.exit_code == 2
    assert "zone_ids[0]: 'osm-way-227338532' is a water-source area" in refused.stderr
    issued = runner.invoke(cli.app, ["pass", "issue", "--plate", plate, "--zone", "rs-test-corner", "--id", "CD-CLI-1",
                                     "--from", "2026-11-26T08:00:00+08:00", "--until", "2026-11-26T18:00:00+08:00",
                                     "--issued-by", "成都交警", "--reason", "检修", "--json", *city])  # fmt: skip
    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.stdout)["pass_id"] == "CD-CLI-1"
    listed = runner.invoke(cli.app, ["pass", "list", "--plate", plate, "--all", "--json", *city])
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["pass_id"] for line in listed.stdout.splitlines()] == ["CD-CLI-1"]
    now_valid = runner.invoke(cli.app, ["pass", "list", "--plate", plate, "--json", *city])
    assert now_valid.stdout.strip() == ""  # valid on 2026-11-26 only, not today
    opened = ask_until(kafka, prefix, tap, worker, plate, lambda r: r["status"] == "ok")
    assert opened["passes_used"] == ["CD-CLI-1"]
    assert runner.invoke(cli.app, ["pass", "revoke", "CD-CLI-1", *city]).exit_code == 0
    again = runner.invoke(cli.app, ["pass", "list", "--plate", plate, "--all", "--json", *city])
    assert again.stdout.strip() == ""
    assert runner.invoke(cli.app, ["pass", "revoke", "CD-CLI-1", *city]).exit_code == 2  # none in force
    closed = ask_until(kafka, prefix, tap, worker, plate, lambda r: r["status"] != "ok")
    assert closed["status"] == "no_permitted_route"


def test_a_starting_worker_catches_up_on_the_passes_before_it_answers(kafka, tmp_path):
    """The pass is on the topic before the worker starts; the first request it answers already uses it."""
    prefix = new_prefix()
    prepare(kafka, prefix)
    plate = "川A30005"
    pass_topic.send(kafka, "CD-P-30005", a_pass("CD-P-30005", plate), prefix=prefix)
    worker = Worker(
        bootstrap=kafka, prefix=prefix, archive=tmp_path / "archive.sqlite", log=tmp_path / "worker.log",
        extra_env={"HAZMAT_CITY": str(CHENGDU)},
    ).start()  # fmt: skip
    tap = Tap(kafka, prefix, names.ROUTES)
    try:
        route = ask(kafka, prefix, tap, worker, plate)  # the very first request
        assert route["status"] == "ok", route
        assert route["passes_used"] == ["CD-P-30005"]
    finally:
        tap.close()
        worker.stop()
