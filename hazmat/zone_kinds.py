"""The kinds of zone a city configures, declared once: name, labels in both languages, map colour.

``zones.geojson`` validates ``kind`` against these; the router's ``avoided`` reasons, the
monitor's alert texts and the maps all read their labels here.
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
    )
}

#: the ``kind`` of a zone (a Literal of ZONE_KINDS' names, for the models)
ZoneKindName = Literal[tuple(ZONE_KINDS)]  # type: ignore[valid-type]
