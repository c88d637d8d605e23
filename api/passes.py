"""Traffic police: issue and revoke passes (通行证, routing.md item 6) on the compacted ``hazmat.passes`` topic.

A pass is checked against the city before it is produced (a zone of the city a pass may
open, never a water source; ``valid_until`` after ``valid_from``): 422 with field-level
errors otherwise, and nothing reaches the workers. Revoking produces a tombstone for the id.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from hazmat.events import Pass
from hazmat.passes import pass_problems
from hazmat.streams import names

from .deps import Police, Svc, decoded

router = APIRouter(prefix="/v1", tags=["passes"])

#: what a pass id may be (the event's ``EventId``)
_PASS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


@router.post("/passes", status_code=202)
async def post_pass(request: Request, _: Police, svc: Svc) -> dict[str, Any]:
    """Issue (or re-issue: same id) a pass; the workers apply it once they read it from the topic."""
    granted, raw = await decoded(request, Pass)
    problems = pass_problems(granted, svc.city.zones.features)
    if problems:
        raise HTTPException(422, problems)
    await svc.produce(names.PASSES, granted.pass_id, raw)
    return {"pass_id": granted.pass_id, "plate": granted.plate}


@router.delete("/passes/{pass_id}", status_code=202)
async def delete_pass(pass_id: str, _: Police, svc: Svc) -> dict[str, Any]:
    """Revoke a pass: a null value for its id (the compacted topic then forgets it)."""
    if not _PASS_ID.match(pass_id):
        raise HTTPException(422, [{"loc": ["path", "pass_id"], "msg": "not a pass id"}])
    await svc.produce(names.PASSES, pass_id, None)
    return {"pass_id": pass_id, "revoked": True}
