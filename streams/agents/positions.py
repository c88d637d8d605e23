"""Vehicle positions → zone entry, route deviation, unchecked movement, speeding and flow alerts.

Positions, check-ins, route requests and deliveries are all keyed by plate and read as one
stream, so a ping sees its plate's state (load, route, monitor) as the plate's earlier events
left it, whichever worker holds the partition now.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime
from operator import methodcaller
from typing import Any

from hazmat.events import Alert, Position
from hazmat.flows import TrackPoint
from hazmat.flows.store import close
from hazmat.flows.watch import FlowStep, follow
from hazmat.monitor.judge import judge_position
from hazmat.monitor.state import LoadInfo, VehicleState

from .. import handlers, resources
from ..state import LOAD, MONITOR, ROUTE, ROUTE_ID, PlateState
from .passes import runtime_passes
from .send import Emit, alert_emits, emits

log = logging.getLogger("hazmat.streams.positions")

#: plates whose decoded route a worker keeps in memory (the oldest are read from the state again)
ROUTES_KEPT = 20_000
#: state key of the alerts a recent ping gave (``sent:<event id>``), for when it comes again
SENT = "sent:"


class Positions:
    """One ping → its alerts. Keeps the plates' routes decoded (hundreds of points: decoding one from the
    state cost more than the monitor check), checked against the state's ``route_id`` on every ping."""

    def __init__(self) -> None:
        self.fence = resources.geofence()  # built once, before the first message (it loads the road graph)
        self.settings, self.flow_settings = resources.monitor_settings(), resources.flow_settings()
        self.routes: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def route_of(self, plate: str, st: PlateState) -> dict[str, Any] | None:
        route_id = st.get(ROUTE_ID)
        if route_id is None:
            return None
        kept = self.routes.get(plate)
        if kept is None or kept["route_id"] != route_id:
            kept = st.get(ROUTE)
            self.routes[plate] = kept
            if len(self.routes) > ROUTES_KEPT:
                self.routes.popitem(last=False)
        return kept

    # The monitoring state keeps each recent ping's alert ids, not the alerts (a ping's state read and
    # written as JSON: ~1.4 KB instead of ~4 KB); the alerts of a ping that gave any are kept apart under
    # ``sent:<event id>``, read only when that ping comes again (a duplicate: the same alerts again) and
    # dropped when it leaves the recent ones. benchmarks/engines/full_state.py measures the other way.

    @staticmethod
    def monitor_of(plate: str, st: PlateState) -> VehicleState:
        data = st.get(MONITOR)
        return VehicleState(**data) if data else VehicleState(plate=plate)

    @staticmethod
    def sent_before(event_id: str, state: VehicleState, st: PlateState) -> list[Alert] | None:
        """The alerts a recent ping gave, when this one is it again; None for a ping not seen yet."""
        if event_id not in state.recent:
            return None
        if not state.recent[event_id]:
            return []
        return [Alert.model_validate(a, strict=False) for a in st.get(f"{SENT}{event_id}") or ()]  # our own JSON

    @staticmethod
    def keep(before: VehicleState, after: VehicleState, event_id: str, alerts: list[Alert], st: PlateState) -> None:
        if after is before:  # a late ping: nothing changed
            return
        if alerts:
            st.set(f"{SENT}{event_id}", after.recent[event_id])
        # the monitor remembered this ping's alerts whole in a copy of the recent ones (which hold ids)
        after.recent[event_id] = [a.alert_id for a in alerts]
        if len(before.recent) >= after.RECENT:  # one ping in, the oldest out: its alerts, if any, go too
            gone = next(iter(before.recent))
            if gone not in after.recent and before.recent[gone]:
                st.delete(f"{SENT}{gone}")
        st.set(MONITOR, after.to_json())

    def handle(self, raw: bytes | None, source: handlers.Source, now: datetime, st: PlateState) -> list[Emit]:
        pos = handlers.decoded(Position, raw, source, now)
        if isinstance(pos, handlers.Handled):
            return emits(pos.outputs)
        try:
            load = LoadInfo.from_json(st.get(LOAD))
            route = self.route_of(pos.plate, st)
            current = self.monitor_of(pos.plate, st)
            alerts = self.sent_before(pos.event_id, current, st)
            if alerts is None:
                held = runtime_passes().book.for_plate(pos.plate)
                new_state, alerts = judge_position(pos, current, load, route, self.fence, self.settings, held)
                self.keep(current, new_state, pos.event_id, alerts, st)
        except Exception as exc:  # a bug must not stop monitoring: the ping goes to the DLQ with the reason
            log.exception("position handling failed", extra={"plate": pos.plate, "event_id": pos.event_id})
            return emits(handlers.internal_error(raw, source, exc, now).outputs)
        step = follow(pos, load, route, self.flow_settings)
        if step is not None:
            alerts = alerts + follow_flows(pos, step)
            if load is not None and step.load != load:
                st.set(LOAD, step.load.to_json())
        return alert_emits(alerts)


def follow_flows(pos: Position, step: FlowStep) -> list[Alert]:
    """Add the ping to the open flows' tracks (one archive write per plate per ``track_every_s`` at most);
    close them when it arrived (cleared overdue alerts)."""
    point = TrackPoint(pos.at, pos.lon, pos.lat, pos.event_id)
    if step.arrived:
        log.info("flows arrived", extra={"plate": pos.plate, "event_id": pos.event_id, "flows": list(step.arrived)})
        return resources.in_archive(
            close, pos.plate, step.arrived, pos.at, "arrived", pos.event_id, point, what="close flows"
        )
    if step.track:
        resources.in_archive(methodcaller("track", step.track, point), what="track flows")
    return []
