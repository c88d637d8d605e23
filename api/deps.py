"""What every endpoint may depend on: the caller's key (by role) and the running services.

FastAPI dependencies, so an endpoint declares ``who: Police`` or ``svc: Svc`` and never reaches
into a shared dict: a wrong key is 401, a wrong role 403, before the endpoint runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Header, HTTPException, Query, Request

from hazmat.archive import Archive
from hazmat.cityconfig import City
from hazmat.events import InvalidEvent, decode
from hazmat.streams import names

from .feed import Feed
from .keys import ApiKey, Role, digest

MAX_BODY = 64 * 1024


@dataclass
class Services:
    """The city and what the lifespan starts: the Kafka producer, the read-back feed, the archive."""

    city: City
    producer: AIOKafkaProducer | None = None
    feed: Feed | None = None
    archive: Archive | None = None
    roads: dict[str, Any] | None = None  # the road layer, built on first request
    derived_zones: list[dict[str, Any]] | None = None  # OSM water sources, from the same graph
    graph_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def produce(self, spec: names.TopicSpec, key: str, raw: bytes | None) -> None:
        """One message, acknowledged by the broker (``raw`` None: a tombstone, on a compacted topic)."""
        assert self.producer is not None, "the API's lifespan starts the producer"
        await self.producer.send_and_wait(spec.name(), raw, key=key.encode("utf-8"))


def services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


def _admit(request: Request, key: str | None, roles: tuple[Role, ...]) -> ApiKey:
    found = request.app.state.keys.get(digest(key)) if key else None
    if found is None:
        raise HTTPException(401, "missing or unknown API key (X-API-Key header)")
    if found.role not in roles:
        raise HTTPException(403, f"role {found.role} may not do this; needs {' or '.join(roles)}")
    return found


def _caller(*roles: Role) -> Any:
    """A dependency that admits a valid key of one of ``roles`` from the ``X-API-Key`` header
    (401 missing or unknown key, 403 wrong role)."""

    def check(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> ApiKey:
        return _admit(request, x_api_key, roles)

    return Depends(check)


def _stream_caller(*roles: Role) -> Any:
    """The same for an event stream: a browser's EventSource cannot set headers, so ``?key=`` is
    taken there, and only there (a key in a URL ends up in logs and histories)."""

    def check(
        request: Request, x_api_key: Annotated[str | None, Header()] = None, key: Annotated[str | None, Query()] = None
    ) -> ApiKey:
        return _admit(request, x_api_key or key, roles)

    return Depends(check)


Site = Annotated[ApiKey, _caller("site")]
SiteOrPolice = Annotated[ApiKey, _caller("site", "police")]
Dispatcher = Annotated[ApiKey, _caller("dispatcher")]
DispatcherOrPolice = Annotated[ApiKey, _caller("dispatcher", "police")]
Police = Annotated[ApiKey, _caller("police")]
PoliceStream = Annotated[ApiKey, _stream_caller("police")]
Anyone = Annotated[ApiKey, _caller("site", "dispatcher", "police")]


async def decoded(request: Request, model: type[Any]) -> tuple[Any, bytes]:
    """The body as ``model`` and its raw bytes (413 when too large, 422 with field-level errors)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, f"request body over {MAX_BODY} bytes")
    try:
        return decode(model, raw), raw
    except InvalidEvent as exc:
        raise HTTPException(422, exc.errors) from None
