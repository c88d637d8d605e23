"""``hazmat:water=no``: no load that endangers water (by default every hazmat class does).

``permissive`` is recorded but allows passage, as in GraphHopper's ``HazmatWater``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import RoadRestriction


def parse(tags: Mapping[str, object]) -> bool:
    return tags.get("hazmat:water") == "no"


RESTRICTION = RoadRestriction(
    kind="hazmat_water_road",
    tags=("hazmat:water",),
    attr="hazmat_water_no",
    parse=parse,
    closes=lambda value, load, rules: value,
    reason=lambda road, _, load: (
        f"{road.zh}禁止危害水体的货物通行（hazmat:water=no）",
        f"{road.en}: hazmat:water=no",
    ),
)
