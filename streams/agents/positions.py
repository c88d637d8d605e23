"""Vehicle positions → zone entry, route deviation, unchecked movement and speeding alerts.

Per-vehicle state lives in faust tables keyed by plate (``streams/tables.py``,
changelog-backed, so a restarted worker resumes where the last one stopped); positions,
check-ins and routes are all keyed by plate, so each worker holds the state of exactly the
vehicles whose pings it receives. The check-in agent records each plate's last passed load;
a small agent here records the last permitted route issued to it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from operator import methodcaller

from faust import StreamT

from hazmat.events import Alert, InvalidEvent, Position, Route, decode
from hazmat.flows import TrackPoint
from hazmat.flows.store import close
from hazmat.flows.watch import FlowStep, follow
from hazmat.monitor.judge import judge_position
from hazmat.monitor.state import VehicleState

from .. import handlers, names, resources, topics
from ..app import app
from ..tables import load_of, set_load, vehicle_monitor, vehicle_routes
from .checkins import source_of
from .passes import runtime_passes
from .send import send_alerts

log = logging.getLogger("hazmat.streams.positions")

positions = topics.BY_BASE[names.POSITIONS.base]
routes = topics.BY_BASE[names.ROUTES.base]


@app.agent(routes)
async def remember_routes(stream: StreamT) -> None:
    """The last permitted route issued per plate (the corridor a vehicle must keep to)."""
    async for event in stream.events():
        try:
            route = decode(Route, event.value)
        except InvalidEvent:
            log.warning("unreadable route on the routes topic", extra={"offset": event.message.offset})
            continue
        if route.status == "ok" and route.geometry is not None:
            vehicle_routes[route.plate] = {"route_id": route.route_id, "coordinates": route.geometry.coordinates}


async def _follow_flows(pos: Position, step: FlowStep) -> list[Alert]:
    """Add the ping to the open flows' tracks; close them when it arrived (cleared overdue alerts)."""
    point = TrackPoint(pos.at, pos.lon, pos.lat, pos.event_id)
    if step.arrived:
        log.info("flows arrived", extra={"plate": pos.plate, "event_id": pos.event_id, "flows": list(step.arrived)})
        return await resources.in_archive(
            close, pos.plate, step.arrived, pos.at, "arrived", pos.event_id, point, what="close flows"
        )
    if step.track:
        await resources.in_archive(methodcaller("track", step.track, point), what="track flows")
    return []


@app.agent(positions)
async def monitor_positions(stream: StreamT) -> None:
    async for event in stream.events():
        source = source_of(event)
        now = datetime.now(UTC)
        pos = handlers.decoded(Position, event.value, source, now)
        if isinstance(pos, handlers.Handled):
            for out in pos.outputs:
                await topics.send(out)
            continue
        passes = runtime_passes()
        if not passes.ready.is_set():
            await passes.ready.wait()  # the passes in force, before any ping is judged
        try:
            fence = resources.built_geofence() or await asyncio.to_thread(
                resources.geofence
            )  # built once (may load the graph)
            current = VehicleState.from_json(vehicle_monitor.get(pos.plate), pos.plate)
            load = load_of(pos.plate)
            route = vehicle_routes.get(pos.plate)
            held = passes.book.for_plate(pos.plate)
            new_state, alerts = judge_position(pos, current, load, route, fence, resources.monitor_settings(), held)
        except Exception as exc:  # a bug must not stop monitoring: the ping goes to the DLQ with the reason
            log.exception("position handling failed", extra={"plate": pos.plate, "event_id": pos.event_id})
            for out in handlers.internal_error(event.value, source, exc, now).outputs:
                await topics.send(out)
            continue
        vehicle_monitor[pos.plate] = new_state.to_json()
        step = follow(pos, load, route, resources.flow_settings())
        if step is not None:
            alerts = alerts + await _follow_flows(pos, step)
            if load is not None and step.load != load:
                set_load(pos.plate, step.load)
        await send_alerts(alerts)
