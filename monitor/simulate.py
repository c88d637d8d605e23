"""A trip simulator: drive a vehicle along a line at a speed, one position event per interval.

Used by the tests and the demo; a detour is simply a different line (the route with some
waypoints inserted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shapely.geometry import LineString

from hazmat.events import Position
from hazmat.routing.geo import Projection


def drive(
    coordinates: Sequence[Sequence[float]],
    *,
    plate: str,
    start: datetime,
    speed_kmh: float,
    every_s: float = 10.0,
    event_prefix: str = "p",
    projection: Projection | None = None,
) -> list[Position]:
    """Positions every ``every_s`` seconds along the line, from its start to its end."""
    first = coordinates[0]
    proj = projection or Projection.around(first[0], first[1])
    line = proj.to_metric(LineString(coordinates))
    step = speed_kmh / 3.6 * every_s
    out: list[Position] = []
    distance, k = 0.0, 0
    while True:
        at_end = distance >= line.length
        x, y = line.interpolate(min(distance, line.length)).coords[0]
        lon, lat = proj.backward.transform(x, y)
        out.append(
            Position(
                schema_version=1,
                event_id=f"{event_prefix}-{k:05d}",
                plate=plate,
                at=start + timedelta(seconds=k * every_s),
                lon=round(lon, 7),
                lat=round(lat, 7),
                speed_kmh=0.0 if at_end else speed_kmh,
            )
        )
        if at_end:
            return out
        distance += step
        k += 1


def with_detour(
    coordinates: Sequence[Sequence[float]], at_fraction: float, waypoints: Sequence[Sequence[float]]
) -> list[list[float]]:
    """The same line with ``waypoints`` visited after ``at_fraction`` of its vertices."""
    cut = max(1, int(len(coordinates) * at_fraction))
    return [list(c) for c in coordinates[:cut]] + [list(w) for w in waypoints] + [list(c) for c in coordinates[cut:]]
