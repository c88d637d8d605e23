"""The archive: append-only, one row per event id, looked up by plate, site, rule and time."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime

import psycopg
import pytest

from hazmat.archive import Entry, PostgresArchive, SqliteArchive, open_archive
from tests.helpers import changed, judge


def entry(**changes) -> Entry:
    data = changed(**changes)
    return Entry(raw=json.dumps(data, ensure_ascii=False), site_id=data["site_id"], verdict=judge(data))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """Every test runs on both backends: the same interface, the same guarantees."""
    if request.param == "sqlite":
        archive = SqliteArchive(tmp_path / "archive.sqlite")
    else:
        url = request.getfixturevalue("postgres_url")
        schema = f"t{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"CREATE SCHEMA {schema}")
        archive = PostgresArchive(f"{url}?options=-csearch_path%3D{schema}")
    yield archive
    archive.close()


def raw_db(store):
    """A second, plain connection to the same database, as an operator would open one."""
    if isinstance(store, SqliteArchive):
        return sqlite3.connect(store.path), sqlite3.IntegrityError
    return psycopg.connect(store.url, autocommit=True), psycopg.errors.RaiseException


def test_record_is_idempotent_by_event_id(store):
    e = entry(event_id="e-1")
    assert store.record([e]) == 1
    assert store.record([e, e]) == 0
    assert store.count() == 1


def test_record_keeps_the_event_as_received_and_the_verdict(store):
    e = entry(event_id="e-1", tank__inspection_valid_until="2026-10-01")
    store.record([e])
    [record] = store.query()
    assert record.event == json.loads(e.raw)
    assert record.verdict == e.verdict
    assert record.verdict.ruleset_version == "2026.11.1"


def test_rows_cannot_be_updated_or_deleted(store):
    store.record([entry(event_id="e-1")])
    db, error = raw_db(store)
    with pytest.raises(error, match="append-only"):
        db.execute("UPDATE checkins SET verdict = 'load'")
    with pytest.raises(error, match="append-only"):
        db.execute("DELETE FROM checkins")
    db.close()
    assert store.count() == 1


def test_query_by_plate_site_rule_and_time(store):
    store.record(
        [
            entry(event_id="a", occurred_at="2026-11-26T07:00:00+08:00"),
            entry(event_id="b", occurred_at="2026-11-26T08:00:00+08:00", tank__inspection_valid_until="2026-10-01"),
            entry(
                event_id="c",
                occurred_at="2026-11-26T09:00:00+08:00",
                site_id="DT-LS-002",
                vehicle__plate="晋B54321",
                documents__waybill__plate="晋B54321",
            ),
        ]
    )
    ids = lambda records: [r.event_id for r in records]  # noqa: E731
    assert ids(store.query()) == ["a", "b", "c"]
    assert ids(store.query(plate="晋B54321")) == ["c"]
    assert ids(store.query(site_id="DT-LS-001")) == ["a", "b"]
    assert ids(store.query(rule_id="TNK-001")) == ["b"]
    since = datetime.fromisoformat("2026-11-26T00:00:00Z")  # 08:00 in Shanghai
    assert ids(store.query(since=since)) == ["b", "c"]
    assert ids(store.query(until=since)) == ["a"]
    assert ids(store.query(limit=1)) == ["a"]
    assert ids(store.query(limit=1, newest_first=True)) == ["c"]
    assert ids(store.query(site_id="DT-LS-001", newest_first=True)) == ["b", "a"]


def test_times_in_other_offsets_compare_as_instants(store):
    store.record([entry(event_id="utc", occurred_at="2026-11-26T01:00:00Z")])  # 09:00 in Shanghai
    assert [r.event_id for r in store.query(since=datetime.fromisoformat("2026-11-26T08:30:00+08:00"))] == ["utc"]


def test_open_archive_picks_the_backend_by_target(tmp_path, postgres_url):
    sqlite_store = open_archive(tmp_path / "a.sqlite")
    pg_store = open_archive(postgres_url)
    assert isinstance(sqlite_store, SqliteArchive)
    assert isinstance(pg_store, PostgresArchive)
    sqlite_store.close()
    pg_store.close()
