"""Loading sites: post a check-in, read its verdict, look up the archive (police read them too)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from hazmat.events import CheckIn
from hazmat.streams import names

from .deps import Site, SiteOrPolice, Svc, decoded

router = APIRouter(prefix="/v1", tags=["check-ins"])


@router.post("/checkins", status_code=202)
async def post_checkin(request: Request, who: Site, svc: Svc) -> dict[str, str]:
    checkin, raw = await decoded(request, CheckIn)
    if checkin.site_id != who.site_id:
        raise HTTPException(403, f"this key may post check-ins for site {who.site_id} only, not {checkin.site_id}")
    await svc.produce(names.CHECKINS, checkin.vehicle.plate, raw)
    return {"event_id": checkin.event_id, "verdict": f"/v1/verdicts/{checkin.event_id}"}


@router.get("/verdicts/{event_id}")
async def get_verdict(
    event_id: str, who: SiteOrPolice, svc: Svc, wait: Annotated[float, Query(ge=0, le=30)] = 0
) -> Any:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        record = svc.archive.get(event_id)
        if record is not None:
            if who.role == "site" and record.site_id != who.site_id:
                raise HTTPException(403, "a site sees its own check-ins only")
            return record.verdict.model_dump(mode="json")
        if asyncio.get_running_loop().time() >= deadline:
            raise HTTPException(404, f"no verdict for {event_id} yet")
        await asyncio.sleep(0.1)  # poll the archive the worker writes; bounded by ?wait


@router.get("/archive")
async def get_archive(
    who: SiteOrPolice,
    svc: Svc,
    plate: str | None = None,
    site: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    if who.role == "site":
        if site not in (None, who.site_id):
            raise HTTPException(403, "a site sees its own check-ins only")
        site = who.site_id
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, [{"loc": ["query", name], "msg": "a time needs an offset, e.g. +08:00"}])
    records = svc.archive.query(plate=plate, site_id=site, rule_id=rule, since=since, until=until, limit=limit)
    return [r.as_json() for r in records]
