"""The archive (建档): every judged check-in with its verdict, append-only, once per event id.

One small interface, :class:`Archive`, so the processors do not care where records go.
:class:`SqliteArchive` is the default (single node, the demo, ``hazmat check``). Rows are
never updated or deleted (triggers refuse it); a redelivered event id is ignored, so
at-least-once delivery leaves exactly one row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

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

    def count(self) -> int: ...

    def close(self) -> None: ...


_SCHEMA = """
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


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


class SqliteArchive:
    """The archive in one SQLite file (WAL mode, so readers do not block the writer)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def record(self, entries: Iterable[Entry]) -> int:
        now = datetime.now(UTC).isoformat()
        added = 0
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                for entry in entries:
                    v = entry.verdict
                    cur.execute(
                        "INSERT OR IGNORE INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            v.checkin_event_id,
                            v.plate,
                            entry.site_id,
                            _utc(v.decided_at),
                            v.verdict,
                            v.ruleset_version,
                            entry.raw,
                            v.model_dump_json(),
                            now,
                        ),
                    )
                    if cur.rowcount == 1:
                        added += 1
                        cur.executemany(
                            "INSERT OR IGNORE INTO checkin_rules VALUES (?, ?)",
                            [(v.checkin_event_id, r) for r in {f.rule_id for f in v.findings}],
                        )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return added

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
        where: list[str] = []
        args: list[Any] = []
        if plate:
            where.append("c.plate = ?")
            args.append(plate)
        if site_id:
            where.append("c.site_id = ?")
            args.append(site_id)
        if rule_id:
            where.append("EXISTS (SELECT 1 FROM checkin_rules r WHERE r.event_id = c.event_id AND r.rule_id = ?)")
            args.append(rule_id)
        if since:
            where.append("c.occurred_at >= ?")
            args.append(_utc(since))
        if until:
            where.append("c.occurred_at < ?")
            args.append(_utc(until))
        sql = "SELECT event_id, plate, site_id, occurred_at, event_json, verdict_json, archived_at FROM checkins c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.occurred_at, c.event_id LIMIT ?"
        args.append(limit)
        return list(self._rows(sql, args))

    def _rows(self, sql: str, args: list[Any]) -> Iterator[Record]:
        for (
            event_id,
            plate,
            site_id,
            occurred_at,
            event_json,
            verdict_json,
            archived_at,
        ) in self._db.execute(sql, args):
            yield Record(
                event_id=event_id,
                plate=plate,
                site_id=site_id,
                occurred_at=datetime.fromisoformat(occurred_at),
                verdict=Verdict.model_validate_json(verdict_json),
                event=json.loads(event_json),
                archived_at=datetime.fromisoformat(archived_at),
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM checkins").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def open_archive(path: str | Path) -> Archive:
    """The archive at ``path`` (a SQLite file; PostgreSQL URLs come with the streams work)."""
    return SqliteArchive(path)
