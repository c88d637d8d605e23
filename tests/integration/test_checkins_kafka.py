"""Check-ins through the real broker and a real ``hazmat worker`` process."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from hazmat.streams import names
from tests.helpers import changed
from tests.kafka_helpers import (
    Tap,
    Worker,
    new_prefix,
    prepare,
    producer,
    verdict_ids,
    wait_for_members,
    wait_until,
)

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def worker(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    folder = tmp_path_factory.mktemp("worker")
    prefix = new_prefix()
    prepare(kafka, prefix)
    w = Worker(bootstrap=kafka, prefix=prefix, archive=folder / "archive.sqlite", log=folder / "worker.log").start()
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def tap(kafka: str, worker: Worker) -> Iterator[Tap]:
    t = Tap(kafka, worker.prefix, names.VERDICTS, names.ALERTS, names.DLQ)
    yield t
    t.close()


def send(kafka: str, worker: Worker, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    p = producer(kafka)
    for key, value in messages:
        p.send(names.CHECKINS.name(worker.prefix), key=key, value=value)
    p.flush()
    p.close()


def checkin(**changes) -> tuple[bytes, bytes]:
    data = changed(**changes)
    return data["vehicle"]["plate"].encode(), json.dumps(data, ensure_ascii=False).encode()


def archived(worker: Worker, event_id: str) -> int:
    with sqlite3.connect(worker.archive) as db:
        return db.execute("SELECT count(*) FROM checkins WHERE event_id = ?", (event_id,)).fetchone()[0]


def test_checkin_comes_back_as_a_verdict_and_a_refusal_as_an_alert(kafka, worker, tap):
    send(
        kafka,
        worker,
        [checkin(event_id="k-load"), checkin(event_id="k-refuse", tank__inspection_valid_until="2026-10-01")],
    )
    tap.wait_for(
        lambda t: (
            {"k-load", "k-refuse"} <= set(verdict_ids(t))
            and any(a["alert_id"] == "a-k-refuse-checkin_refused" for a in t.messages["hazmat.alerts"])
        ),
        worker=worker,
    )
    verdicts = {m["checkin_event_id"]: m for m in tap.messages["hazmat.verdicts"]}
    assert verdicts["k-load"]["verdict"] == "load"
    assert verdicts["k-refuse"]["verdict"] == "refuse"
    assert [f["rule_id"] for f in verdicts["k-refuse"]["findings"]] == ["TNK-001"]
    keys = dict(zip(verdict_ids(tap), tap.keys["hazmat.verdicts"], strict=True))
    assert keys["k-load"] == "晋B12345".encode()
    assert not any(a["source_event_id"] == "k-load" for a in tap.messages["hazmat.alerts"])
    # archived at the worker's next checkpoint (a verdict may be out up to one checkpoint before)
    assert wait_until(lambda: archived(worker, "k-load"), 1, what="the loaded check-in archived") == 1


def test_invalid_messages_go_to_the_dlq_and_valid_ones_around_them_are_judged(kafka, worker, tap):
    send(
        kafka,
        worker,
        [
            checkin(event_id="k-before"),
            (b"\xe6\x99\x8bB12345", b'{"schema_version": 1, "event_id": '),
            checkin(event_id="k-unknown", colour="red"),
            checkin(event_id="k-types", load__0__quantity_kg="24000"),
            (None, b"\xff\xfe binary"),
            checkin(event_id="k-after"),
        ],
    )
    tap.wait_for(
        lambda t: {"k-before", "k-after"} <= set(verdict_ids(t)) and len(t.messages["hazmat.dlq"]) >= 4, worker=worker
    )
    dead = tap.messages["hazmat.dlq"]
    errors = [d["error"] for d in dead]
    assert any("Invalid JSON" in e for e in errors)
    assert any("colour: Extra inputs are not permitted" in e for e in errors)
    assert any("load[0].quantity_kg" in e for e in errors)
    assert any(d["raw_encoding"] == "base64" for d in dead)
    assert all(d["topic"] == names.CHECKINS.name(worker.prefix) for d in dead)
    assert not {"k-unknown", "k-types"} & set(verdict_ids(tap))
    tap.wait_for(lambda t: sum(a["kind"] == "invalid_event" for a in t.messages["hazmat.alerts"]) >= 4, worker=worker)
    assert worker.alive()


def test_a_duplicate_event_yields_one_archive_row_and_the_same_verdict_id(kafka, worker, tap):
    message = checkin(event_id="k-dup", driver__certificate=None)
    send(kafka, worker, [message])
    tap.wait_for(lambda t: "k-dup" in verdict_ids(t), worker=worker)
    send(kafka, worker, [message])
    tap.wait_for(lambda t: verdict_ids(t).count("k-dup") == 2, worker=worker)
    copies = [m for m in tap.messages["hazmat.verdicts"] if m["checkin_event_id"] == "k-dup"]
    assert copies[0] == copies[1]
    assert copies[0]["verdict_id"] == "v-k-dup"
    # the archive is written per checkpoint: once a later check-in of the plate is archived, both copies were
    send(kafka, worker, [checkin(event_id="k-dup-after", driver__certificate=None)])
    wait_until(lambda: archived(worker, "k-dup-after"), 1, what="the check-in after the copies archived")
    assert archived(worker, "k-dup") == 1


def test_the_blacklist_is_updated_at_run_time(kafka, worker, tap):
    topic = names.BLACKLIST.name(worker.prefix)
    p = producer(kafka)
    entry = {
        "schema_version": 1,
        "list": "plates",
        "value": "晋B77777",
        "reason": "非法运输",
        "listed_on": "2026-11-01",
    }
    p.send(topic, key="晋B77777".encode(), value=json.dumps(entry, ensure_ascii=False).encode())
    p.flush()
    plate = {"vehicle__plate": "晋B77777", "documents__waybill__plate": "晋B77777"}
    # the follower applies the entry asynchronously: send check-ins until one is judged against it
    n = 0

    def refused_by_blacklist(t: Tap) -> bool:
        nonlocal n
        if not any(
            m["checkin_event_id"].startswith("k-bl-") and m["verdict"] == "refuse"
            for m in t.messages["hazmat.verdicts"]
        ):
            n += 1
            send(kafka, worker, [checkin(event_id=f"k-bl-{n}", **plate)])
            return False
        return True

    tap.wait_for(refused_by_blacklist, worker=worker)
    refused = next(
        m
        for m in tap.messages["hazmat.verdicts"]
        if m["checkin_event_id"].startswith("k-bl-") and m["verdict"] == "refuse"
    )
    assert [(f["rule_id"], f["field"]) for f in refused["findings"]] == [("VEH-006", "vehicle.plate")]
    assert "非法运输" in refused["findings"][0]["message_zh"]

    p.send(topic, key="晋B77777".encode(), value=None)  # tombstone: removed again
    p.flush()
    p.close()

    def loads_again(t: Tap) -> bool:
        nonlocal n
        if not any(
            m["checkin_event_id"] == f"k-bl-{n}" and m["verdict"] == "load" for m in t.messages["hazmat.verdicts"]
        ):
            n += 1
            send(kafka, worker, [checkin(event_id=f"k-bl-{n}", **plate)])
            return False
        return True

    tap.wait_for(loads_again, worker=worker)


def test_two_workers_share_the_partitions_and_one_postgres_archive(kafka, postgres_url, tmp_path):
    """The docker-compose shape: two workers in one consumer group, one PostgreSQL archive."""
    prefix = new_prefix()
    prepare(kafka, prefix)
    workers = [
        Worker(
            bootstrap=kafka,
            prefix=prefix,
            archive=tmp_path / "unused.sqlite",
            log=tmp_path / f"w{i}.log",
            extra_env={"HAZMAT_ARCHIVE": postgres_url},
        ).start()
        for i in range(2)
    ]
    tap = Tap(kafka, prefix, names.VERDICTS)
    try:
        assignment = wait_for_members(kafka, prefix, 2)
        assert sorted(p for member in assignment for p in member) == [0, 1, 2]
        plates = [f"晋B{n:05d}" for n in range(40)]
        messages = []
        for n in range(200):
            plate = plates[n % len(plates)]
            # refused (no GPS confirmation), so each worker logs what it judged at INFO
            messages.append(
                checkin(
                    event_id=f"pg-{n}",
                    vehicle__plate=plate,
                    documents__waybill__plate=plate,
                    vehicle__gps_terminal_online=None,
                )
            )
        p = producer(kafka)
        for key, value in messages:
            p.send(names.CHECKINS.name(prefix), key=key, value=value)
        p.flush()
        p.close()
        tap.wait_for(lambda t: len(set(verdict_ids(t))) == 200, timeout=120, worker=workers[0])
        assert all(w.alive() for w in workers), [w.tail() for w in workers]
        import psycopg

        def rows() -> int:
            with psycopg.connect(postgres_url) as db:
                row = db.execute("SELECT count(*) FROM checkins WHERE event_id LIKE 'pg-%'").fetchone()
            assert row is not None
            return int(row[0])

        assert wait_until(rows, 200, what="check-ins archived") == 200
        judged = [w.log.read_text(encoding="utf-8").count('"judged"') for w in workers]
        assert all(judged), judged
        assert sum(judged) >= 200
    finally:
        tap.close()
        for w in workers:
            w.stop()
