"""The kinds of zone a city configures, declared once: name, labels in both languages, map colour.

``zones.geojson`` validates ``kind`` against these; the router's ``avoided`` reasons, the
monitor's alert texts and the maps all read their labels here. A ``designated_area`` is a
controlled area in which hazmat loads may use only its designated roads (规定路线): those
roads are the file's only line features, of kind :data:`DESIGNATED_ROAD` (not a zone kind:
a road closes nothing, it is what stays open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ZoneKind:
    name: str
    zh: str
    en: str
    colour: str  # on the maps


ZONE_KINDS: dict[str, ZoneKind] = {
    k.name: k
    for k in (
        ZoneKind("water_source", "饮用水水源保护区", "drinking-water source area", "#1f78b4"),
        ZoneKind("restricted", "限行区域", "restricted area", "#ff7f00"),
        ZoneKind("closure", "封闭区域", "closure", "#e31a1c"),
        ZoneKind("designated_area", "规定路线管控区", "designated area", "#6a3d9a"),
    )
}

#: the ``kind`` of a zone (a Literal of ZONE_KINDS' names, for the models)
ZoneKindName = Literal[tuple(ZONE_KINDS)]  # type: ignore[valid-type]

#: the line features of ``zones.geojson``: the roads a designated area leaves open
DESIGNATED_ROAD = ZoneKind("designated_road", "规定路线", "designated road", "#33a02c")

#: the zone kinds a police pass may open (routing.md item 6): never a water source
PASSABLE_KINDS = frozenset({"restricted", "closure", "designated_area"})

#: how close (m) a road must lie to a designated road, or to a pass's route, to count as on it
DEFAULT_MATCH_M = 20.0
