"""Traffic police: recent alerts, the live alert stream (server-sent events), high-hazard flows, and
the operations map's vehicles: their last positions, the live position stream and one vehicle's file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from hazmat.archive import Archive, Record

from .deps import Police, PoliceStream, Svc
from .feed import POSITION_BATCH_S, PositionSubscriber

router = APIRouter(prefix="/v1", tags=["police"])


@router.get("/alerts")
async def get_alerts(
    _: Police,
    svc: Svc,
    plate: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    found = [
        a for a in svc.feed.alerts if (plate is None or a.get("plate") == plate) and (kind is None or a["kind"] == kind)
    ]
    return found[-limit:]


@router.get("/alerts/stream")
async def stream_alerts(_: PoliceStream, svc: Svc) -> StreamingResponse:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    feed = svc.feed
    feed.subscribers.add(queue)

    async def events() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while True:
                try:
                    alert = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"id: {alert['alert_id']}\nevent: alert\ndata: {json.dumps(alert, ensure_ascii=False)}\n\n"
        finally:
            feed.subscribers.discard(queue)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/flows")
async def get_flows(
    _: Police,
    svc: Svc,
    plate: str | None = None,
    open_only: Annotated[bool, Query(alias="open")] = True,
    older_than_h: Annotated[float, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """High-hazard flows (流向) with where each vehicle was last seen; by default the undelivered ones."""
    before = datetime.now(UTC) - timedelta(hours=older_than_h)
    flows = svc.archive.flows(plate=plate, open_only=open_only, opened_before=before)
    return [_flow(f.as_json(), svc.city.settings.flow_overdue_h) for f in flows]


def _flow(flow: dict[str, Any], overdue_h: float) -> dict[str, Any]:
    """A flow with ``overdue``: open longer than the city's ``flow_overdue_h`` (the map marks it)."""
    opened = datetime.fromisoformat(flow["opened_at"])
    overdue = flow["closed_at"] is None and datetime.now(UTC) - opened > timedelta(hours=overdue_h)
    return {**flow, "overdue": overdue}


@router.get("/positions", tags=["map"])
async def get_positions(_: Police, svc: Svc, plate: str | None = None) -> list[dict[str, Any]]:
    """Every vehicle's last position since the API started (heading in degrees from north, ``state``
    ``ok`` / ``alerting`` / ``unchecked``): the map opened late is full at once, then follows the stream."""
    if plate is None:
        return svc.feed.fleet.snapshot()
    found = svc.feed.fleet.vehicles.get(plate)
    return [] if found is None else [found]


@router.get("/positions/stream", tags=["map"])
async def stream_positions(_: PoliceStream, svc: Svc) -> StreamingResponse:
    """Server-sent ``positions`` events: a JSON array of the vehicles that moved or changed state,
    each vehicle at most once per batch, one batch at most every second (throttled per vehicle)."""
    subscriber = PositionSubscriber()
    feed = svc.feed
    feed.position_subscribers.add(subscriber)

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        sent = 0.0
        try:
            yield ": connected\n\n"
            while True:
                try:
                    await asyncio.wait_for(subscriber.changed.wait(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                wait = sent + POSITION_BATCH_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # the throttle: what arrives meanwhile joins this batch
                sent = loop.time()
                batch = subscriber.take()
                yield f"event: positions\ndata: {json.dumps(batch, ensure_ascii=False)}\n\n"
        finally:
            feed.position_subscribers.discard(subscriber)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def last_checkin(archive: Archive, plate: str) -> Record | None:
    """The plate's newest archived check-in, if any."""
    found = archive.query(plate=plate, limit=1, newest_first=True)
    return found[0] if found else None


@router.get("/vehicles/{plate}", tags=["map"])
async def get_vehicle(plate: str, _: Police, svc: Svc) -> dict[str, Any]:
    """One vehicle's file for the map: last position, load and last verdict with its findings, the
    route issued to it, its open high-hazard flows, its open conditions and recent alerts."""
    feed = svc.feed
    record = last_checkin(svc.archive, plate)
    vehicle = feed.fleet.vehicles.get(plate)
    return {
        "plate": plate,
        "position": vehicle,
        "checkin": None
        if record is None
        else {
            "event_id": record.event_id,
            "site_id": record.site_id,
            "occurred_at": record.occurred_at.isoformat(),
            "load": record.event.get("load", []),
            "verdict": record.verdict.model_dump(mode="json"),
        },
        "route": feed.routes_by_plate.get(plate),
        "flows": [
            _flow(f.as_json(), svc.city.settings.flow_overdue_h) for f in svc.archive.flows(plate=plate, open_only=True)
        ],
        "open_alerts": feed.fleet.open_alerts(plate),
        "recent_alerts": [a for a in feed.alerts if a.get("plate") == plate][-20:],
    }
