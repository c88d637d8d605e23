"""``hazmat=no``: no hazmat load at all (GraphHopper's ``Hazmat``: untagged means yes)."""

from __future__ import annotations

from .base import tag_says_no

RESTRICTION = tag_says_no(
    kind="hazmat_road", tag="hazmat", attr="hazmat_no", zh="禁止危险货物车辆通行（hazmat=no）", en="hazmat=no"
)
parse = RESTRICTION.parse
