"""What the operations map knows about each vehicle: its last position, heading and state.

Pure bookkeeping (no I/O, no clock): the feed hands it every position and alert it reads from
Kafka, and it answers the map's snapshot and marks what changed for the live position stream.
A vehicle's state follows the lasting conditions the worker raises and clears
(``zone_entry``, ``route_deviation``, ``speeding``, ``unchecked_movement``, ``flow_overdue``):
``unchecked`` while it moves without a passed check-in, ``alerting`` while any other condition
is open, ``ok`` otherwise. One-shot alerts (a refused check-in, an invalid event) are listed but
do not colour the marker: nothing would ever clear them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime
from typing import Any

from hazmat.flows.records import distance_m

#: alerts that are raised and later cleared (monitor/judge.py, hazmat/flows/records.py)
LASTING = frozenset({"zone_entry", "route_deviation", "speeding", "unchecked_movement", "flow_overdue"})
#: vehicles remembered at most (the least recently seen are forgotten first)
MAX_VEHICLES = 50_000
#: below this many metres between two pings the heading is kept (GPS jitter of a parked tanker)
MIN_MOVE_M = 5.0


def bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial great-circle bearing from the first point to the second, degrees clockwise from north."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return round((math.degrees(math.atan2(x, y)) + 360) % 360, 1)


def state_of(conditions: dict[tuple[str, str | None], dict[str, Any]]) -> str:
    kinds = {kind for kind, _ in conditions}
    if "unchecked_movement" in kinds:
        return "unchecked"
    return "alerting" if kinds else "ok"


class Fleet:
    """Last position per plate with heading and state, and the open conditions behind the state."""

    def __init__(self, max_vehicles: int = MAX_VEHICLES) -> None:
        self.max_vehicles = max_vehicles
        self.vehicles: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.conditions: dict[str, dict[tuple[str, str | None], dict[str, Any]]] = {}
        self._seen: dict[str, float] = {}  # the time of each vehicle's last ping, as a number

    def position(self, ping: dict[str, Any]) -> dict[str, Any] | None:
        """Take one position event; return the vehicle as the map shows it, or None for an older ping
        (a redelivered or late one must not move the marker back)."""
        plate, at = ping.get("plate"), ping.get("at")
        lon, lat = ping.get("lon"), ping.get("lat")
        if not isinstance(plate, str) or not isinstance(at, str) or not _number(lon) or not _number(lat):
            return None
        when = _epoch(at)
        if when is None:
            return None
        last = self.vehicles.get(plate)
        if last is not None and when <= self._seen[plate]:
            return None
        heading = None if last is None else last["heading"]
        if last is not None and distance_m(last["lon"], last["lat"], lon, lat) >= MIN_MOVE_M:
            heading = bearing(last["lon"], last["lat"], lon, lat)
        vehicle = {
            "plate": plate,
            "at": at,
            "lon": lon,
            "lat": lat,
            "speed_kmh": ping.get("speed_kmh"),
            "heading": heading,
            "state": state_of(self.conditions.get(plate, {})),
            "event_id": ping.get("event_id"),
        }
        self.vehicles[plate], self._seen[plate] = vehicle, when
        self.vehicles.move_to_end(plate)
        while len(self.vehicles) > self.max_vehicles:
            gone, _ = self.vehicles.popitem(last=False)
            self.conditions.pop(gone, None)
            del self._seen[gone]
        return vehicle

    def alert(self, alert: dict[str, Any]) -> dict[str, Any] | None:
        """Take one alert; return the vehicle when its state changed (its marker is to be redrawn)."""
        plate, kind = alert.get("plate"), alert.get("kind")
        if not isinstance(plate, str) or kind not in LASTING:
            return None
        open_now = self.conditions.setdefault(plate, {})
        key = (kind, alert.get("zone_id"))
        if alert.get("state") == "cleared":
            open_now.pop(key, None)
        else:
            open_now[key] = alert
        if not open_now:
            del self.conditions[plate]
        vehicle = self.vehicles.get(plate)
        if vehicle is None:
            return None
        state = state_of(self.conditions.get(plate, {}))
        if state == vehicle["state"]:
            return None
        vehicle["state"] = state
        return vehicle

    def open_alerts(self, plate: str) -> list[dict[str, Any]]:
        return list(self.conditions.get(plate, {}).values())

    def snapshot(self) -> list[dict[str, Any]]:
        return list(self.vehicles.values())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _epoch(at: str) -> float | None:
    """Seconds since the epoch of an ISO time with an offset (None when it is not one)."""
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        return None
    return None if parsed.tzinfo is None else parsed.timestamp()
