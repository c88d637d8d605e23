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
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hazmat.events import Verdict
from hazmat.flows.records import Flow, FlowStatus, TrackPoint
from hazmat.paths import is_database_url


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
    flows: tuple[Flow, ...] = ()  # high-hazard flows this verdict opens (hazmat.flows.opened_by)
    verdict_json: str = ""  # ``verdict.model_dump_json()`` when the caller has it already; made here if not


@dataclass(frozen=True)
class Batch:
    """Check-ins as the rows one transaction writes: plain data, so another process can write them."""

    checkins: list[tuple[str, ...]]  # one per event id: the first of a repeated one wins
    rules: list[tuple[str, str]]  # (event id, rule id), written for the check-ins that are new
    flows: list[tuple[Any, ...]]


def batch_of(entries: Iterable[Entry]) -> Batch:
    """The rows of a batch of entries, stamped with one archive time."""
    now = datetime.now(UTC).isoformat()
    entries = list(entries)
    first: dict[str, Entry] = {}
    for entry in entries:
        first.setdefault(entry.verdict.checkin_event_id, entry)
    return Batch(
        checkins=[_row(e, now) for e in first.values()],
        rules=[
            (event_id, rule_id)
            for event_id, entry in first.items()
            for rule_id in sorted({f.rule_id for f in entry.verdict.findings})
        ],
        flows=[_flow_row(f) for entry in first.values() for f in entry.flows],
    )


class Archive(Protocol):
    def record(self, entries: Iterable[Entry]) -> int:
        """Store entries not yet archived (one transaction); return how many were new."""
        ...

    def write(self, batch: Batch) -> int:
        """Store a batch made by :func:`batch_of`; return how many of its check-ins were new."""
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
        newest_first: bool = False,
    ) -> list[Record]:
        """Archived check-ins matching every filter given, oldest first (newest first on request), at most ``limit``."""
        ...

    def get(self, event_id: str) -> Record | None:
        """The archived check-in with this event id, if any."""
        ...

    def count(self) -> int: ...

    def flows(
        self, *, plate: str | None = None, open_only: bool = False, opened_before: datetime | None = None
    ) -> list[FlowStatus]:
        """High-hazard flows, oldest first, each with its last tracked point and how it closed."""
        ...

    def track(self, flow_ids: Iterable[str], point: TrackPoint) -> None:
        """Add a position to the track of each flow (once per flow and source event)."""
        ...

    def close_flows(
        self, flow_ids: Iterable[str], closed_at: datetime, how: str, source_event_id: str, point: TrackPoint | None
    ) -> list[str]:
        """Close the flows not closed yet; return the ids this call closed."""
        ...

    def mark_alerted(self, flow_id: str, kind: str, at: datetime) -> bool:
        """Record that an alert of ``kind`` went out for this flow; False if one already had."""
        ...

    def alerted(self, flow_id: str, kind: str) -> bool: ...

    def close(self) -> None: ...


#: every table of the archive; triggers refuse UPDATE and DELETE on each
_APPEND_ONLY = ("checkins", "checkin_rules", "flows", "flow_track", "flow_closures", "flow_alerts")

#: the check-ins and their rule ids, the same on SQLite and PostgreSQL
_CHECKIN_TABLES = """
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
"""

_FLOW_TABLES = """
CREATE TABLE IF NOT EXISTS flows (
    flow_id          TEXT PRIMARY KEY,
    checkin_event_id TEXT NOT NULL,
    plate            TEXT NOT NULL,
    site_id          TEXT NOT NULL,
    un_number        TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity_kg      DOUBLE PRECISION NOT NULL,
    consignor        TEXT,
    consignee        TEXT,
    destination      TEXT,
    opened_at        TEXT NOT NULL  -- UTC ISO 8601, like every time here
);
CREATE INDEX IF NOT EXISTS flows_plate ON flows(plate, opened_at);
CREATE TABLE IF NOT EXISTS flow_track (
    flow_id         TEXT NOT NULL REFERENCES flows(flow_id),
    source_event_id TEXT NOT NULL,
    at              TEXT NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (flow_id, source_event_id)
);
CREATE TABLE IF NOT EXISTS flow_closures (
    flow_id         TEXT PRIMARY KEY REFERENCES flows(flow_id),
    closed_at       TEXT NOT NULL,
    how             TEXT NOT NULL,  -- arrived | delivery
    source_event_id TEXT NOT NULL,
    lon             DOUBLE PRECISION,
    lat             DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS flow_alerts (
    flow_id TEXT NOT NULL REFERENCES flows(flow_id),
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (flow_id, kind)
);
"""

_SQLITE_SCHEMA = (
    _CHECKIN_TABLES
    + _FLOW_TABLES
    + "".join(
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t}\n"
        "    BEGIN SELECT RAISE(ABORT, 'the archive is append-only'); END;\n"
        for t in _APPEND_ONLY
        for op in ("UPDATE", "DELETE")
    )
)

_POSTGRES_SCHEMA = (
    _CHECKIN_TABLES
    + _FLOW_TABLES
    + """CREATE OR REPLACE FUNCTION hazmat_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the archive is append-only'; END $$;
"""
    + "".join(
        f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};\n"
        f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}\n"
        "    FOR EACH ROW EXECUTE FUNCTION hazmat_append_only();\n"
        for t in _APPEND_ONLY
    )
)

#: event ids per ``IN (...)`` look-up: under SQLite's oldest default limit of 999 variables
_SQLITE_IN_MAX = 500
#: page size of a new SQLite archive
_SQLITE_PAGE = 16384

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
        entry.verdict_json or v.model_dump_json(),
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
    newest_first: bool = False,
) -> tuple[str, list[Any]]:
    """The query SQL and its arguments; ``mark`` is the driver's placeholder (``?`` or ``%s``)."""
    where, args = _where(
        mark,
        ("c.plate = {m}", plate),
        ("c.site_id = {m}", site_id),
        ("EXISTS (SELECT 1 FROM checkin_rules r WHERE r.event_id = c.event_id AND r.rule_id = {m})", rule_id),
        ("c.occurred_at >= {m}", _utc(since) if since else None),
        ("c.occurred_at < {m}", _utc(until) if until else None),
    )
    order = "c.occurred_at DESC, c.event_id DESC" if newest_first else "c.occurred_at, c.event_id"
    sql = f"SELECT {_COLUMNS} FROM checkins c{where} ORDER BY {order} LIMIT {mark}"
    return sql, [*args, limit]


def _where(mark: str, *conditions: tuple[str, Any]) -> tuple[str, list[Any]]:
    """`` WHERE a AND b`` of the conditions whose value is set, and their arguments (a clause
    without ``{m}`` is a flag and takes none); empty when none is set."""
    parts, args = [], []
    for clause, value in conditions:
        if value:
            parts.append(clause.format(m=mark))
            if "{m}" in clause:
                args.append(value)
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


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


_FLOW_COLUMNS = (
    "f.flow_id, f.checkin_event_id, f.plate, f.site_id, f.un_number, f.name, f.quantity_kg, f.consignor,"
    " f.consignee, f.destination, f.opened_at, c.closed_at, c.how, c.source_event_id,"
    " (SELECT t.at || ' ' || t.lon || ' ' || t.lat || ' ' || t.source_event_id FROM flow_track t"
    "  WHERE t.flow_id = f.flow_id ORDER BY t.at DESC LIMIT 1)"
)


def _flow_row(flow: Flow) -> tuple[Any, ...]:
    return (
        flow.flow_id,
        flow.checkin_event_id,
        flow.plate,
        flow.site_id,
        flow.un_number,
        flow.name,
        flow.quantity_kg,
        flow.consignor,
        flow.consignee,
        flow.destination,
        _utc(flow.opened_at),
    )


def _flow_status(row: tuple[Any, ...]) -> FlowStatus:
    *fields, closed_at, how, closed_by, last = row
    flow = Flow(*fields[:10], opened_at=datetime.fromisoformat(fields[10]))  # type: ignore[arg-type]
    point = None
    if last:
        at, lon, lat, source = last.split(" ", 3)
        point = TrackPoint(datetime.fromisoformat(at), float(lon), float(lat), source)
    return FlowStatus(
        flow=flow,
        last=point,
        closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
        closed_how=how,
        closed_by=closed_by,
    )


class _SqlArchive:
    """Look-ups shared by both databases; subclasses set the placeholder and open ``_db``."""

    _mark: ClassVar[str]
    _db: Any

    def _transaction(self) -> AbstractContextManager[Any]:
        """A cursor inside one transaction (committed on exit, rolled back on error)."""
        raise NotImplementedError

    def _insert_checkins(self, cur: Any, rows: list[tuple[str, ...]]) -> set[str]:
        """Insert check-in rows not archived yet, inside the caller's transaction; return the new ids."""
        raise NotImplementedError

    def record(self, entries: Iterable[Entry]) -> int:
        """Append a batch of check-ins with their rule ids and the flows they open, in one transaction."""
        return self.write(batch_of(entries))

    def write(self, batch: Batch) -> int:
        """Append a batch made by :func:`batch_of`, in one transaction; return how many check-ins were new.

        One statement per table for the whole batch (not one per check-in), so a file of a
        million check-ins costs a thousand transactions, not a million. An event id already
        archived adds nothing, and rule ids are written only with the row that is new, so a
        re-run of the same input adds no rows.
        """
        if not batch.checkins:
            return 0
        m = self._mark
        with self._transaction() as cur:
            new = self._insert_checkins(cur, batch.checkins)
            rules = [rule for rule in batch.rules if rule[0] in new]
            if rules:
                cur.executemany(f"INSERT INTO checkin_rules VALUES ({m}, {m}) ON CONFLICT DO NOTHING", rules)
            flows = [row for row in batch.flows if row[1] in new]  # row[1]: the check-in's event id
            if flows:
                sql = f"INSERT INTO flows VALUES ({', '.join([m] * 11)}) ON CONFLICT DO NOTHING"
                cur.executemany(sql, flows)
        return len(new)

    def flows(
        self, *, plate: str | None = None, open_only: bool = False, opened_before: datetime | None = None
    ) -> list[FlowStatus]:
        where, args = _where(
            self._mark,
            ("f.plate = {m}", plate),
            ("f.opened_at < {m}", _utc(opened_before) if opened_before else None),
            ("c.flow_id IS NULL", open_only),
        )
        sql = f"SELECT {_FLOW_COLUMNS} FROM flows f LEFT JOIN flow_closures c ON c.flow_id = f.flow_id{where}"
        sql += " ORDER BY f.opened_at, f.flow_id"
        return [_flow_status(row) for row in self._db.execute(sql, args).fetchall()]

    def track(self, flow_ids: Iterable[str], point: TrackPoint) -> None:
        with self._transaction() as cur:
            self._track(cur, flow_ids, point)

    def _track(self, cur: Any, flow_ids: Iterable[str], point: TrackPoint) -> None:
        m = self._mark
        rows = [(fid, point.source_event_id, _utc(point.at), point.lon, point.lat) for fid in flow_ids]
        cur.executemany(f"INSERT INTO flow_track VALUES ({m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING", rows)

    def close_flows(
        self, flow_ids: Iterable[str], closed_at: datetime, how: str, source_event_id: str, point: TrackPoint | None
    ) -> list[str]:
        m = self._mark
        closed = []
        with self._transaction() as cur:
            for fid in flow_ids:
                if point is not None:
                    self._track(cur, (fid,), point)
                cur.execute(
                    f"INSERT INTO flow_closures VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING",
                    (
                        fid,
                        _utc(closed_at),
                        how,
                        source_event_id,
                        point.lon if point else None,
                        point.lat if point else None,
                    ),
                )
                if cur.rowcount == 1:
                    closed.append(fid)
        return closed

    def mark_alerted(self, flow_id: str, kind: str, at: datetime) -> bool:
        m = self._mark
        with self._transaction() as cur:
            cur.execute(
                f"INSERT INTO flow_alerts VALUES ({m}, {m}, {m}) ON CONFLICT DO NOTHING", (flow_id, kind, _utc(at))
            )
            return bool(cur.rowcount == 1)

    def alerted(self, flow_id: str, kind: str) -> bool:
        m = self._mark
        sql = f"SELECT 1 FROM flow_alerts WHERE flow_id = {m} AND kind = {m}"
        return self._db.execute(sql, (flow_id, kind)).fetchone() is not None

    def query(
        self,
        *,
        plate: str | None = None,
        site_id: str | None = None,
        rule_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[Record]:
        sql, args = _select(
            self._mark,
            plate=plate,
            site_id=site_id,
            rule_id=rule_id,
            since=since,
            until=until,
            limit=limit,
            newest_first=newest_first,
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
        # a check-in row is ~3.5 KB (the event as received and its verdict): 4 KiB pages hold one
        # each, 16 KiB pages four, a third less writing per row; takes effect on a new file only
        self._db.execute(f"PRAGMA page_size={_SQLITE_PAGE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SQLITE_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _insert_checkins(self, cur: sqlite3.Cursor, rows: list[tuple[str, ...]]) -> set[str]:
        # exact: BEGIN IMMEDIATE holds the write lock, so no writer runs between look-up and insert
        ids = [row[0] for row in rows]
        known: set[str] = set()
        for i in range(0, len(ids), _SQLITE_IN_MAX):
            part = ids[i : i + _SQLITE_IN_MAX]
            sql = f"SELECT event_id FROM checkins WHERE event_id IN ({', '.join('?' * len(part))})"
            known.update(r[0] for r in cur.execute(sql, part))
        fresh = [row for row in rows if row[0] not in known]
        cur.executemany("INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", fresh)
        return {row[0] for row in fresh}


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

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._db.transaction(), self._db.cursor() as cur:
            yield cur

    def _insert_checkins(self, cur: Any, rows: list[tuple[str, ...]]) -> set[str]:
        # one statement for the batch; RETURNING names exactly the rows this insert added, even
        # while another worker archives the same event ids
        columns = [list(column) for column in zip(*rows, strict=True)]
        arrays = ", ".join(["%s::text[]"] * len(columns))
        cur.execute(
            f"INSERT INTO checkins SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING RETURNING event_id", columns
        )
        return {r[0] for r in cur.fetchall()}


def open_archive(target: str | Path) -> Archive:
    """The archive at ``target``: a ``postgresql://`` URL, or a SQLite file path."""
    if is_database_url(target):
        return PostgresArchive(str(target))
    return SqliteArchive(target)
