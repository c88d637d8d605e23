"""The archive side of high-hazard flows, shared by the positions and deliveries agents (blocking calls: the worker makes them in its stream, retrying while the archive fails)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hazmat.archive import Archive
from hazmat.events import Alert

from .records import OVERDUE, FlowStatus, TrackPoint, overdue_alert


def close(
    archive: Archive,
    plate: str,
    flow_ids: tuple[str, ...],
    at: datetime,
    how: str,
    source_event_id: str,
    point: TrackPoint | None,
) -> list[Alert]:
    """Close the plate's flows; a ``flow_overdue`` cleared alert for each that had raised one (again on redelivery)."""
    archive.close_flows(flow_ids, at, how, source_event_id, point)
    wanted = set(flow_ids)
    return [
        overdue_alert(s, "cleared", at)
        for s in archive.flows(plate=plate)
        if s.flow.flow_id in wanted and archive.alerted(s.flow.flow_id, OVERDUE)
    ]


def delivered_by(archive: Archive, plate: str, event_id: str) -> list[FlowStatus]:
    """The plate's flows still open, and those this very event closed before (it is being redelivered)."""
    return [s for s in archive.flows(plate=plate) if s.closed_at is None or s.closed_by == event_id]


def overdue(archive: Archive, now: datetime, after: timedelta) -> list[FlowStatus]:
    """Open flows past their time that no worker has alerted yet."""
    late = archive.flows(open_only=True, opened_before=now - after)
    return [s for s in late if not archive.alerted(s.flow.flow_id, OVERDUE)]


def mark_alerted(archive: Archive, flows: list[FlowStatus], now: datetime) -> None:
    for s in flows:
        archive.mark_alerted(s.flow.flow_id, OVERDUE, now)
