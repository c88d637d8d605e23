"""Metric geometry: one local UTM projection per city, so buffers and distances are in metres."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Transformer


@dataclass(frozen=True)
class Projection:
    """WGS84 lon/lat ⇄ the UTM zone around ``lon``/``lat``."""

    epsg: int
    forward: Any
    backward: Any

    @classmethod
    def around(cls, lon: float, lat: float) -> Projection:
        zone = int((lon + 180) // 6) + 1
        epsg = (32600 if lat >= 0 else 32700) + zone
        return cls(
            epsg=epsg,
            forward=Transformer.from_crs(4326, epsg, always_xy=True),
            backward=Transformer.from_crs(epsg, 4326, always_xy=True),
        )

    def to_metric(self, geom: Any) -> Any:
        """One geometry, or an array of them (vectorised: one call for a whole graph)."""
        return shapely.transform(geom, self.forward.transform, interleaved=False)

    def to_lonlat(self, geom: Any) -> Any:
        return shapely.transform(geom, self.backward.transform, interleaved=False)

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self.forward.transform(lon, lat)
        return float(x), float(y)
