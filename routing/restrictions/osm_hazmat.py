"""``hazmat=no``: no hazmat load at all (GraphHopper's ``Hazmat``: untagged means yes)."""

from __future__ import annotations

from collections.abc import Mapping

from .base import RoadRestriction


def parse(tags: Mapping[str, object]) -> bool:
    return tags.get("hazmat") == "no"


RESTRICTION = RoadRestriction(
    kind="hazmat_road",
    tags=("hazmat",),
    attr="hazmat_no",
    parse=parse,
    closes=lambda value, load, rules: value,
    reason=lambda road, _, load: (f"{road.zh}禁止危险货物车辆通行（hazmat=no）", f"{road.en}: hazmat=no"),
)
