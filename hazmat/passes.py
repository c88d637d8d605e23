"""Police passes (通行证, routing.md item 6): what a pass may open, and the passes in force per plate.

A pass opens restricted areas, closures and designated areas to one vehicle for a time;
never a water-source area (those, like tunnel categories and road tags, are law, not local
traffic control). :func:`pass_problems` is the one check every way in applies (the city's
``passes.yaml``, ``hazmat pass issue``, ``POST /v1/passes``, the worker reading the
``hazmat.passes`` topic); :class:`PassBook` holds the passes of one source by id and by plate.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from hazmat.events import Pass
from hazmat.zone_kinds import PASSABLE_KINDS

#: zones derived from OpenStreetMap (reservoirs, protect_class=12) are water sources: ``osm-<type>-<id>``
OSM_WATER_PREFIX = "osm-"


def pass_problems(granted: Pass, features: Sequence[Any]) -> list[dict[str, Any]]:
    """Why the city cannot accept this pass, as ``{"loc", "msg"}`` errors (empty: it may).

    ``features`` are the city's ``zones.geojson`` features. A pass may name only a zone of
    the city that is ``restricted``, ``closure`` or ``designated_area``: an unknown id, a
    designated road, a ``water_source`` zone and an OSM water source (``osm-…``) are refused.
    """
    by_id = {f.properties.id: f for f in features}
    openable = sorted(i for i, f in by_id.items() if f.properties.kind in PASSABLE_KINDS)
    errors = []
    for k, zone_id in enumerate(granted.zone_ids):
        feature = by_id.get(zone_id)
        kind = None if feature is None else feature.properties.kind
        if zone_id.startswith(OSM_WATER_PREFIX) or kind == "water_source":
            msg = f"'{zone_id}' is a water-source area: a pass never opens one (the law closes it, not traffic control)"
        elif feature is None:
            msg = f"no zone '{zone_id}' in this city; a pass may open {', '.join(openable) or 'none of its zones'}"
        elif kind == "designated_road":
            msg = f"'{zone_id}' is a designated road, not a zone; name its area '{feature.properties.area}'"
        elif kind not in PASSABLE_KINDS:
            msg = f"'{zone_id}' is a {kind} zone; a pass opens only {', '.join(sorted(PASSABLE_KINDS))} zones"
        else:
            continue
        errors.append({"loc": ["zone_ids", k], "msg": msg})
    return errors


class PassBook:
    """Passes by id and by plate (copy on write: a reader in another thread sees one state or the next)."""

    def __init__(self, passes: Iterable[Pass] = ()) -> None:
        self._by_id: dict[str, Pass] = {}
        self._by_plate: dict[str, tuple[Pass, ...]] = {}
        for granted in passes:
            self.put(granted)

    def put(self, granted: Pass) -> None:
        """Add a pass, or replace the one with its id (a re-issued pass may change anything, its plate too)."""
        self.revoke(granted.pass_id)
        self._by_id = {**self._by_id, granted.pass_id: granted}
        self._by_plate = {**self._by_plate, granted.plate: (*self._by_plate.get(granted.plate, ()), granted)}

    def revoke(self, pass_id: str) -> Pass | None:
        """Remove a pass; the removed one, or ``None`` when there was none with that id."""
        gone = self._by_id.get(pass_id)
        if gone is None:
            return None
        self._by_id = {k: v for k, v in self._by_id.items() if k != pass_id}
        left = tuple(p for p in self._by_plate.get(gone.plate, ()) if p.pass_id != pass_id)
        self._by_plate = {k: v for k, v in self._by_plate.items() if k != gone.plate} | (
            {gone.plate: left} if left else {}
        )
        return gone

    def for_plate(self, plate: str) -> tuple[Pass, ...]:
        """The plate's passes, valid or not (whether one is valid depends on the moment: the router's and the
        monitor's to judge)."""
        return self._by_plate.get(plate, ())

    def get(self, pass_id: str) -> Pass | None:
        return self._by_id.get(pass_id)

    def __iter__(self) -> Iterator[Pass]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)
