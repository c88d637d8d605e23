"""What one position ping means for the plate's open high-hazard flows (pure).

A ping adds a point to each open flow's track (at most one per ``track_every_s``, so a
vehicle reporting every few seconds does not write the archive every few seconds), and a
vehicle stopped near the destination of the route it was issued closes them ("arrived").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hazmat.events import Position
from hazmat.monitor.state import LoadInfo

from .records import arrived


@dataclass(frozen=True)
class FlowSettings:
    arrival_radius_m: float = 300.0
    track_every_s: float = 60.0


@dataclass(frozen=True)
class FlowStep:
    load: LoadInfo  # with closed flows removed and the new track time
    track: tuple[str, ...] = ()  # flows to which this ping is added
    arrived: tuple[str, ...] = ()  # flows this ping closes


def destination_of(route: dict[str, Any] | None) -> tuple[float, float] | None:
    """The end of the permitted route issued to the plate (the monitor's ``vehicle-routes`` value)."""
    if not route or not route.get("coordinates"):
        return None
    lon, lat = route["coordinates"][-1][:2]
    return float(lon), float(lat)


def follow(
    pos: Position, load: LoadInfo | None, route: dict[str, Any] | None, settings: FlowSettings
) -> FlowStep | None:
    """None when the plate has no open flow; else what to track, what to close and the new load state."""
    if load is None or not load.flows:
        return None
    at_s = pos.at.timestamp()
    if arrived(pos.lon, pos.lat, pos.speed_kmh, destination_of(route), settings.arrival_radius_m):
        return FlowStep(load=replace(load, flows=(), tracked_at_s=at_s), track=load.flows, arrived=load.flows)
    due = load.tracked_at_s is None or at_s - load.tracked_at_s >= settings.track_every_s
    if not due:
        return FlowStep(load=load)
    return FlowStep(load=replace(load, tracked_at_s=at_s), track=load.flows)
