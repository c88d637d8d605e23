"""Route requests → permitted routes (the router runs in a thread: a search takes tens of ms), with the
requesting vehicle's police passes from ``hazmat.passes``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from faust import StreamT

from hazmat.events import Route, RouteRequest
from hazmat.passes import PassBook

from .. import handlers, names, resources, topics
from ..app import app
from .checkins import source_of
from .passes import runtime_passes

log = logging.getLogger("hazmat.streams.routes")

route_requests = topics.BY_BASE[names.ROUTE_REQUESTS.base]


def _with_passes(plan: Callable[..., Route], book: PassBook) -> Callable[[RouteRequest], Route]:
    """The router's plan, given the requesting vehicle's passes."""
    return lambda request: plan(request, passes=book.for_plate(request.plate))


@app.agent(route_requests)
async def plan_routes(stream: StreamT) -> None:
    async for event in stream.events():
        source = source_of(event)
        now = datetime.now(UTC)
        try:
            await runtime_passes().ready.wait()  # the passes in force, before any route is answered
            plan = _with_passes(await asyncio.to_thread(resources.router_plan), runtime_passes().book)
            handled = await asyncio.to_thread(handlers.handle_route_request, event.value, source, plan, now)
        except Exception as exc:  # a routing bug (RouteViolation included) must not drop the request
            log.exception("route request failed", extra={"partition": source.partition, "offset": source.offset})
            handled = handlers.internal_error(event.value, source, exc, now)
        for out in handled.outputs:
            await topics.send(out)
        log.info(
            "route request",
            extra={"partition": source.partition, "offset": source.offset, "dead_letter": handled.errors is not None},
        )
