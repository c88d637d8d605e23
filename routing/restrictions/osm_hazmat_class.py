"""``hazmat:<class>=no`` (``hazmat:3=no``, ``hazmat:2.3=no``): no load of that class or division."""

from __future__ import annotations

from collections.abc import Mapping

from hazmat.hazard_classes import covers

from .base import CityRoadRules, LoadLike, RoadRestriction

CLASSES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "2.1", "2.2", "2.3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "6.2")  # fmt: skip


def parse(tags: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(c for c in CLASSES if tags.get(f"hazmat:{c}") == "no")


def closes(value: tuple[str, ...] | None, load: LoadLike, rules: CityRoadRules) -> str | None:
    """The first closed class that covers one of the load's classes (``3`` covers ``3``, ``2`` covers ``2.3``)."""
    return next((c for c in value or () if any(covers((c,), lc) for lc in load.classes)), None)


RESTRICTION = RoadRestriction(
    kind="hazmat_class_road",
    tags=tuple(f"hazmat:{c}" for c in CLASSES),
    attr="hazmat_class_no",
    parse=parse,
    closes=closes,
    reason=lambda road, cls, load: (f"{road.zh}禁止第 {cls} 类危险货物通行", f"{road.en}: hazmat:{cls}=no"),
)
