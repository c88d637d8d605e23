"""High-hazard flows (流向): everything about them, in one package, pure core and edges apart.

The plans ask that ammonium nitrate, sodium cyanide, liquid ammonia, liquid chlorine and
nitrocellulose be followed from loading to delivery (全流向闭环).

- ``records``: the values (a flow, its status, a track point), which passed load opens which
  flows, and the ``flow_overdue`` alert (FLW-001). Pure.
- ``watch``: what one position ping means for the plate's open flows (a track point, arrival
  at the route's end). Pure.
- ``store``: the archive side (close, find what a delivery closes, the overdue ones); blocking
  calls on an :class:`hazmat.archive.Archive`, run by the worker off its event loop.
- the stream agent that drives them is ``hazmat.streams.agents.flows`` (deliveries, the
  overdue timer); the position agent calls ``watch`` and ``store`` for each ping.

The names of ``records`` are importable from here (``from hazmat.flows import opened_by``).
"""

from .records import (
    FLOW_RULE,
    OVERDUE,
    Flow,
    FlowStatus,
    TrackPoint,
    arrived,
    distance_m,
    flow_id,
    opened_by,
    overdue_alert,
)

__all__ = [
    "FLOW_RULE",
    "OVERDUE",
    "Flow",
    "FlowStatus",
    "TrackPoint",
    "arrived",
    "distance_m",
    "flow_id",
    "opened_by",
    "overdue_alert",
]
