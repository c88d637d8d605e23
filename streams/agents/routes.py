"""Route requests → permitted routes, with the requesting vehicle's police passes from ``hazmat.passes``.

A permitted route is also the plate's corridor in its state (what its pings are checked
against, and the destination where its flows close on arrival).
"""

from __future__ import annotations

import logging
from datetime import datetime

from hazmat.events import Route, RouteRequest

from .. import handlers, resources
from ..state import ROUTE, ROUTE_ID, PlateState
from .passes import runtime_passes
from .send import Emit, emits

log = logging.getLogger("hazmat.streams.routes")


def handle(raw: bytes | None, source: handlers.Source, now: datetime, st: PlateState) -> list[Emit]:
    planned: list[Route] = []
    book = runtime_passes().book

    def plan(request: RouteRequest) -> Route:
        planned.append(resources.router_plan()(request, passes=book.for_plate(request.plate)))  # type: ignore[call-arg]
        return planned[-1]

    try:
        handled = handlers.handle_route_request(raw, source, plan, now)
    except Exception as exc:  # a routing bug (RouteViolation included) must not drop the request
        log.exception("route request failed", extra={"partition": source.partition, "offset": source.offset})
        handled = handlers.internal_error(raw, source, exc, now)
    route = planned[-1] if planned and handled.errors is None else None
    if route is not None and route.status == "ok" and route.geometry is not None:
        st.set(ROUTE, {"route_id": route.route_id, "coordinates": route.geometry.coordinates})
        st.set(ROUTE_ID, route.route_id)
    log.info(
        "route request",
        extra={"partition": source.partition, "offset": source.offset, "dead_letter": handled.errors is not None},
    )
    return emits(handled.outputs)
