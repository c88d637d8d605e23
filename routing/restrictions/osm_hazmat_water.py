"""``hazmat:water=no``: no load that endangers water (by default every hazmat class does).

``permissive`` is recorded but allows passage, as in GraphHopper's ``HazmatWater``.
"""

from __future__ import annotations

from .base import tag_says_no

RESTRICTION = tag_says_no(
    kind="hazmat_water_road",
    tag="hazmat:water",
    attr="hazmat_water_no",
    zh="禁止危害水体的货物通行（hazmat:water=no）",
    en="hazmat:water=no",
)
parse = RESTRICTION.parse
