"""Traffic police: recent alerts, the live alert stream (server-sent events), high-hazard flows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from .deps import Police, PoliceStream, Svc

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
    return [f.as_json() for f in flows]
