"""The HTTP API (FastAPI, OpenAPI docs at ``/docs``), producing to and reading from the same
Kafka topics as the processors. Invalid bodies get 422 with field-level errors and are never
produced; a wrong key gets 401, a wrong role or another site's id 403.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from hazmat.archive import open_archive
from hazmat.cityconfig import City
from hazmat.events import CheckIn, InvalidEvent, RouteRequest, decode
from hazmat.streams import names

from .feed import Feed
from .keys import ApiKey, KeyStore, Role, digest

MAX_BODY = 64 * 1024
PAGE = Path(__file__).resolve().parent / "page.html"


def _caller(*roles: Role) -> Any:
    """A dependency that admits a valid key of one of ``roles`` (401 unknown key, 403 wrong role)."""

    def check(
        request: Request, x_api_key: Annotated[str | None, Header()] = None, key: Annotated[str | None, Query()] = None
    ) -> ApiKey:
        found = request.app.state.keys.get(digest(x_api_key or key or ""))
        if found is None:
            raise HTTPException(401, "missing or unknown API key (X-API-Key header)")
        if found.role not in roles:
            raise HTTPException(403, f"role {found.role} may not do this; needs {' or '.join(roles)}")
        return found

    return Depends(check)


Site = Annotated[ApiKey, _caller("site")]
SiteOrPolice = Annotated[ApiKey, _caller("site", "police")]
Dispatcher = Annotated[ApiKey, _caller("dispatcher")]
DispatcherOrPolice = Annotated[ApiKey, _caller("dispatcher", "police")]
Police = Annotated[ApiKey, _caller("police")]
Anyone = Annotated[ApiKey, _caller("site", "dispatcher", "police")]


def _roads(city: City) -> dict[str, Any]:
    from hazmat.routing.graph import load
    from hazmat.routing.mapview import road_lines

    return road_lines(load(city))


def create_app(city: City, bootstrap: str) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await producer.start()
        feed = Feed(bootstrap)
        await feed.start()
        state.update(producer=producer, feed=feed, archive=open_archive(city.archive_path()))
        try:
            yield
        finally:
            await feed.stop()
            await producer.stop()
            state["archive"].close()

    app = FastAPI(
        title="hazmat-checker",
        summary="Hazardous-chemical road transport: pre-loading checks, permitted routes, live alerts.",
        version="1",
        lifespan=lifespan,
    )

    app.state.keys = KeyStore(city.folder)  # re-read when `hazmat keys add|revoke` changes the file
    app.add_middleware(GZipMiddleware, minimum_size=64 * 1024)  # the road layer; SSE is left alone

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and int(length) > MAX_BODY:
            return JSONResponse({"detail": f"request body over {MAX_BODY} bytes"}, status_code=413)
        return await call_next(request)

    async def body_of(request: Request, model: type[Any]) -> tuple[Any, bytes]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise HTTPException(413, f"request body over {MAX_BODY} bytes")
        try:
            return decode(model, raw), raw
        except InvalidEvent as exc:
            raise HTTPException(422, exc.errors) from None

    async def produce(spec: names.TopicSpec, key: str, raw: bytes) -> None:
        await state["producer"].send_and_wait(spec.name(), raw, key=key.encode("utf-8"))

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "city": city.folder.name,
            "feed": state.get("feed") is not None and state["feed"].ready.is_set(),
        }

    @app.get("/v1/whoami")
    async def whoami(who: Anyone) -> dict[str, Any]:
        """The caller's role (the page shows what a key may do before trying it)."""
        return {"name": who.name, "role": who.role, "site_id": who.site_id}

    @app.post("/v1/checkins", status_code=202)
    async def post_checkin(request: Request, who: Site) -> dict[str, str]:
        checkin, raw = await body_of(request, CheckIn)
        if checkin.site_id != who.site_id:
            raise HTTPException(403, f"this key may post check-ins for site {who.site_id} only, not {checkin.site_id}")
        await produce(names.CHECKINS, checkin.vehicle.plate, raw)
        return {"event_id": checkin.event_id, "verdict": f"/v1/verdicts/{checkin.event_id}"}

    @app.get("/v1/verdicts/{event_id}")
    async def get_verdict(event_id: str, who: SiteOrPolice, wait: Annotated[float, Query(ge=0, le=30)] = 0) -> Any:
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            record = state["archive"].get(event_id)
            if record is not None:
                if who.role == "site" and record.site_id != who.site_id:
                    raise HTTPException(403, "a site sees its own check-ins only")
                return record.verdict.model_dump(mode="json")
            if asyncio.get_running_loop().time() >= deadline:
                raise HTTPException(404, f"no verdict for {event_id} yet")
            await asyncio.sleep(0.1)  # poll the archive the worker writes; bounded by ?wait

    @app.post("/v1/route-requests", status_code=202)
    async def post_route_request(request: Request, _: Dispatcher) -> dict[str, str]:
        req, raw = await body_of(request, RouteRequest)
        await produce(names.ROUTE_REQUESTS, req.plate, raw)
        return {"request_id": req.request_id, "route": f"/v1/routes/{req.request_id}"}

    @app.get("/v1/routes/{request_id}")
    async def get_route(request_id: str, _: DispatcherOrPolice, wait: Annotated[float, Query(ge=0, le=30)] = 0) -> Any:
        route = await state["feed"].route(request_id, wait)
        if route is None:
            raise HTTPException(404, f"no route for {request_id} yet")
        return route

    @app.get("/v1/alerts")
    async def get_alerts(
        _: Police,
        plate: str | None = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    ) -> list[dict[str, Any]]:
        found = [
            a
            for a in state["feed"].alerts
            if (plate is None or a.get("plate") == plate) and (kind is None or a["kind"] == kind)
        ]
        return found[-limit:]

    @app.get("/v1/alerts/stream")
    async def stream_alerts(_: Police) -> StreamingResponse:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        feed: Feed = state["feed"]
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

    @app.get("/v1/flows")
    async def get_flows(
        _: Police,
        plate: str | None = None,
        open_only: Annotated[bool, Query(alias="open")] = True,
        older_than_h: Annotated[float, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        """High-hazard flows (流向) with where each vehicle was last seen; by default the undelivered ones."""
        before = datetime.now(UTC) - timedelta(hours=older_than_h)
        flows = state["archive"].flows(plate=plate, open_only=open_only, opened_before=before)
        return [f.as_json() for f in flows]

    @app.get("/v1/archive")
    async def get_archive(
        who: SiteOrPolice,
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
        records = state["archive"].query(plate=plate, site_id=site, rule_id=rule, since=since, until=until, limit=limit)
        return [r.as_json() for r in records]

    @app.get("/v1/zones")
    async def get_zones() -> dict[str, Any]:
        """The city's zones as GeoJSON (public: the restrictions are published anyway)."""
        return {
            "type": "FeatureCollection",
            "features": [f.model_dump(mode="json") for f in city.zones.features],
            "city": {
                "name": city.city.name,
                "name_en": city.city.name_en,
                "tiles": None
                if city.city.map_tiles_url is None
                else {"url": city.city.map_tiles_url, "attribution": city.city.map_tiles_attribution},
            },
        }

    @app.get("/v1/roads")
    async def get_roads() -> dict[str, Any]:
        """The road network (major/minor polylines) for the page's base map; built or loaded once."""
        if "roads" not in state:
            try:
                state["roads"] = await asyncio.to_thread(_roads, city)
            except Exception as exc:  # no graph source here: the page falls back to a plain background
                raise HTTPException(404, f"no road graph for {city.city.name_en or city.city.name}: {exc}") from exc
        return state["roads"]

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    return app
