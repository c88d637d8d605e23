"""The HTTP API (FastAPI, OpenAPI docs at ``/docs``), producing to and reading from the same
Kafka topics as the processors. Invalid bodies get 422 with field-level errors and are never
produced; a wrong key gets 401, a wrong role or another site's id 403.

The endpoints live in one router per audience (``checkins``, ``routes``, ``police``, ``passes``) and take
what they need as dependencies (``deps``); this module starts the services and assembles them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hazmat.archive import open_archive
from hazmat.cityconfig import City

from . import checkins, passes, police, routes
from .deps import MAX_BODY, Anyone, Services, Svc
from .feed import Feed
from .keys import KeyStore

PAGE = Path(__file__).resolve().parent / "page.html"
#: the page's script and style, and Leaflet vendored from npm (scripts/vendor_leaflet.sh): no CDN at run time
STATIC = Path(__file__).resolve().parent / "static"


def create_app(city: City, bootstrap: str) -> FastAPI:
    svc = Services(city=city)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        svc.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await svc.producer.start()
        feed = Feed(bootstrap)
        await feed.start()
        svc.feed, svc.archive = feed, open_archive(city.archive_path())
        try:
            yield
        finally:
            await feed.stop()
            await svc.producer.stop()
            svc.archive.close()

    app = FastAPI(
        title="hazmat-checker",
        summary="Hazardous-chemical road transport: pre-loading checks, permitted routes, live alerts.",
        version="1",
        lifespan=lifespan,
    )
    app.state.services = svc
    app.state.keys = KeyStore(city.folder)  # re-read when `hazmat keys add|revoke` changes the file
    app.add_middleware(GZipMiddleware, minimum_size=64 * 1024)  # the road layer; SSE is left alone
    app.middleware("http")(_limit_body)
    app.get("/healthz")(_healthz)
    app.get("/v1/whoami")(_whoami)
    app.get("/", response_class=HTMLResponse)(_page)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (checkins, routes, police, passes):
        app.include_router(module.router)
    return app


async def _limit_body(request: Request, call_next: Any) -> Any:
    length = request.headers.get("content-length")
    if length is not None and int(length) > MAX_BODY:
        return JSONResponse({"detail": f"request body over {MAX_BODY} bytes"}, status_code=413)
    return await call_next(request)


async def _healthz(svc: Svc) -> dict[str, Any]:
    return {"status": "ok", "city": svc.city.folder.name, "feed": svc.feed is not None and svc.feed.ready.is_set()}


async def _whoami(who: Anyone) -> dict[str, Any]:
    """The caller's role (the page shows what a key may do before trying it)."""
    return {"name": who.name, "role": who.role, "site_id": who.site_id}


async def _page() -> str:
    return PAGE.read_text(encoding="utf-8")
