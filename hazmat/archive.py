"""The archive (建档): every judged check-in with its verdict, append-only, once per event id.

One small interface, :class:`Archive`, so the processors do not care where records go.
:class:`SqliteArchive` is the default (single node, the demo, ``hazmat check``);
:class:`PostgresArchive` serves deployments whose workers share partitions. Rows are
never updated or deleted (triggers refuse it); a redelivered event id is ignored, so
at-least-once delivery leaves exactly one row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hazmat.events import Verdict


@dataclass(frozen=True)
class Record:
    """One archived check-in: the event as received, its verdict and the ruleset version."""

    event_id: str
    plate: str
    site_id: str
    occurred_at: datetime
    verdict: Verdict
    event: dict[str, Any]
    archived_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "plate": self.plate,
            "site_id": self.site_id,
            "occurred_at": self.occurred_at.isoformat(),
            "archived_at": self.archived_at.isoformat(),
            "ruleset_version": self.verdict.ruleset_version,
            "verdict": self.verdict.model_dump(mode="json"),
            "event": self.event,
        }


@dataclass(frozen=True)
class Entry:
    """What :meth:`Archive.record` takes: the raw event text, its site and its verdict."""

    raw: str
    site_id: str
    verdict: Verdict


class Archive(Protocol):
    def record(self, entries: Iterable[Entry]) -> int:
        """Store entries not yet archived; return how many were new."""
        ...

    def query(
        self,
        *,
        plate: str | None = None,
        site_id: str | None = None,
        rule_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[Record]: ...

    def get(self, event_id: str) -> Record | None:
        """The archived check-in with this event id, if any."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    event_id        TEXT PRIMARY KEY,
    plate           TEXT NOT NULL,
    site_id         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,  -- UTC, ISO 8601, so text order is time order
    verdict         TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    event_json      TEXT NOT NULL,  -- the event as received
    verdict_json    TEXT NOT NULL,
    archived_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkin_rules (
    event_id TEXT NOT NULL REFERENCES checkins(event_id),
    rule_id  TEXT NOT NULL,
    PRIMARY KEY (event_id, rule_id)
);
CREATE INDEX IF NOT EXISTS checkins_plate ON checkins(plate, occurred_at);
CREATE INDEX IF NOT EXISTS checkins_site ON checkins(site_id, occurred_at);
CREATE INDEX IF NOT EXISTS checkins_time ON checkins(occurred_at);
CREATE INDEX IF NOT EXISTS checkin_rules_rule ON checkin_rules(rule_id);
CREATE TRIGGER IF NOT EXISTS checkins_no_update BEFORE UPDATE ON checkins
    BEGIN SELECT RAISE(ABORT, 'the archive is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkins_no_delete BEFORE DELETE ON checkins
    BEGIN SELECT RAISE(ABORT, 'the archive is append-only'); END;
"""

_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    event_id        TEXT PRIMARY KEY,
    plate           TEXT NOT NULL,
    site_id         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    event_json      TEXT NOT NULL,
    verdict_json    TEXT NOT NULL,
    archived_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkin_rules (
    event_id TEXT NOT NULL REFERENCES checkins(event_id),
    rule_id  TEXT NOT NULL,
    PRIMARY KEY (event_id, rule_id)
);
CREATE INDEX IF NOT EXISTS checkins_plate ON checkins(plate, occurred_at);
CREATE INDEX IF NOT EXISTS checkins_site ON checkins(site_id, occurred_at);
CREATE INDEX IF NOT EXISTS checkins_time ON checkins(occurred_at);
CREATE INDEX IF NOT EXISTS checkin_rules_rule ON checkin_rules(rule_id);
CREATE OR REPLACE FUNCTION hazmat_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the archive is append-only'; END $$;
DROP TRIGGER IF EXISTS checkins_append_only ON checkins;
CREATE TRIGGER checkins_append_only BEFORE UPDATE OR DELETE ON checkins
    FOR EACH ROW EXECUTE FUNCTION hazmat_append_only();
"""

_COLUMNS = "event_id, plate, site_id, occurred_at, event_json, verdict_json, archived_at"


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


def _row(entry: Entry, now: str) -> tuple[str, ...]:
    v = entry.verdict
    return (
        v.checkin_event_id,
        v.plate,
        entry.site_id,
        _utc(v.decided_at),
        v.verdict,
        v.ruleset_version,
        entry.raw,
        v.model_dump_json(),
        now,
    )


def _select(
    mark: str,
    *,
    plate: str | None,
    site_id: str | None,
    rule_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The query SQL and its arguments; ``mark`` is the driver's placeholder (``?`` or ``%s``)."""
    where: list[str] = []
    args: list[Any] = []
    for clause, value in (
        ("c.plate = {m}", plate),
        ("c.site_id = {m}", site_id),
        ("EXISTS (SELECT 1 FROM checkin_rules r WHERE r.event_id = c.event_id AND r.rule_id = {m})", rule_id),
        ("c.occurred_at >= {m}", _utc(since) if since else None),
        ("c.occurred_at < {m}", _utc(until) if until else None),
    ):
        if value:
            where.append(clause.format(m=mark))
            args.append(value)
    sql = f"SELECT {_COLUMNS} FROM checkins c"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY c.occurred_at, c.event_id LIMIT {mark}"
    args.append(limit)
    return sql, args


def _record(row: tuple[Any, ...]) -> Record:
    event_id, plate, site_id, occurred_at, event_json, verdict_json, archived_at = row
    return Record(
        event_id=event_id,
        plate=plate,
        site_id=site_id,
        occurred_at=datetime.fromisoformat(occurred_at),
        verdict=Verdict.model_validate_json(verdict_json),
        event=json.loads(event_json),
        archived_at=datetime.fromisoformat(archived_at),
    )


class _SqlArchive:
    """Look-ups shared by both databases; subclasses set the placeholder and open ``_db``."""

    _mark: ClassVar[str]
    _db: Any

    def query(
        self,
        *,
        plate: str | None = None,
        site_id: str | None = None,
        rule_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[Record]:
        sql, args = _select(
            self._mark, plate=plate, site_id=site_id, rule_id=rule_id, since=since, until=until, limit=limit
        )
        return [_record(row) for row in self._db.execute(sql, args).fetchall()]

    def get(self, event_id: str) -> Record | None:
        sql = f"SELECT {_COLUMNS} FROM checkins WHERE event_id = {self._mark}"
        row = self._db.execute(sql, (event_id,)).fetchone()
        return _record(row) if row else None

    def count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM checkins").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()


class SqliteArchive(_SqlArchive):
    """The archive in one SQLite file (WAL mode, so readers do not block the writer)."""

    _mark = "?"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SQLITE_SCHEMA)

    def record(self, entries: Iterable[Entry]) -> int:
        now = datetime.now(UTC).isoformat()
        added = 0
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                for entry in entries:
                    cur.execute("INSERT OR IGNORE INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(entry, now))
                    if cur.rowcount == 1:
                        added += 1
                        v = entry.verdict
                        cur.executemany(
                            "INSERT OR IGNORE INTO checkin_rules VALUES (?, ?)",
                            [(v.checkin_event_id, r) for r in {f.rule_id for f in v.findings}],
                        )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return added


class PostgresArchive(_SqlArchive):
    """The archive in PostgreSQL, for deployments where several workers share the partitions."""

    _mark = "%s"

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._db = psycopg.connect(url, autocommit=True)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(7426730)")  # one schema creator at a time
            self._db.execute(_POSTGRES_SCHEMA)

    def record(self, entries: Iterable[Entry]) -> int:
        now = datetime.now(UTC).isoformat()
        added = 0
        with self._db.transaction(), self._db.cursor() as cur:
            for entry in entries:
                cur.execute(
                    "INSERT INTO checkins VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    _row(entry, now),
                )
                if cur.rowcount == 1:
                    added += 1
                    v = entry.verdict
                    cur.executemany(
                        "INSERT INTO checkin_rules VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        [(v.checkin_event_id, r) for r in sorted({f.rule_id for f in v.findings})],
                    )
        return added


def open_archive(target: str | Path) -> Archive:
    """The archive at ``target``: a ``postgresql://`` URL, or a SQLite file path."""
    if str(target).startswith(("postgresql://", "postgres://")):
        return PostgresArchive(str(target))
    return SqliteArchive(target)
