"""Every input about a vehicle, one at a time with its plate's state: which agent handles it.

Check-ins, route requests, positions and deliveries are all keyed by plate, so the worker
reads them as one stream (Quix concatenates the topics and reads them in timestamp order:
a ping after a check-in sees its load) and keeps one state per plate (:mod:`.state`). Each
message arrives tagged with its kind; the agents decode it, call the pure core and return
what to produce.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import handlers, names
from .agents import checkins, flows, positions, routes
from .agents.send import Emit
from .state import PlateState

Handler = Callable[[bytes | None, handlers.Source, datetime, PlateState], list[Emit]]

#: the inputs, each with the tag its messages carry into the one stream
INPUTS: tuple[tuple[names.TopicSpec, str], ...] = (
    (names.CHECKINS, "checkin"),
    (names.ROUTE_REQUESTS, "route_request"),
    (names.POSITIONS, "ping"),
    (names.DELIVERIES, "delivery"),
)


class Vehicles:
    """``(tag, raw)`` of one message and where it came from → the messages to produce."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {
            "checkin": checkins.handle,
            "route_request": routes.handle,
            "ping": positions.Positions().handle,
            "delivery": flows.handle_delivery,
        }

    def __call__(self, tagged: tuple[str, bytes | None], source: handlers.Source, st: PlateState) -> list[Emit]:
        kind, raw = tagged
        return self.handlers[kind](raw, source, datetime.now(UTC), st)


def tagger(tag: str) -> Callable[[Any], tuple[str, Any]]:
    return lambda raw: (tag, raw)
