"""A route as a person wants to see it: GeoJSON for GIS tools, a self-contained HTML map for people.

No tile server is reachable where this runs, so the map draws the road network itself
(from the city's graph) as the base layer, in an inline SVG: it opens offline, in any
browser, and carries the OpenStreetMap attribution the data's licence requires.

A route starts and ends where its ends were snapped onto the road; given the points the
dispatcher asked for (``origin``, ``destination``), both views add the short connectors
from them to the route (dashed on the map), so a point moved off a yard or a river bank
shows where it was moved from.
"""

from __future__ import annotations

import html
import json
from typing import Any

from shapely.geometry import box, mapping

from hazmat.events import Route
from hazmat.zone_kinds import DESIGNATED_ROAD, ZONE_KINDS

from .graph import edge_geometry
from .router import Router

ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
MAJOR = {"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link", "primary_link"}


Point = tuple[float, float]


def connectors(route: Route, origin: Point | None, destination: Point | None) -> list[tuple[str, list[Point]]]:
    """The lines from the requested points to where the route starts and ends (none without a route)."""
    if route.geometry is None:
        return []
    coords = route.geometry.coordinates
    out = []
    for end, asked, snapped in (("origin", origin, coords[0]), ("destination", destination, coords[-1])):
        if asked is not None and tuple(asked) != tuple(snapped):
            out.append((end, [tuple(asked), tuple(snapped)]))
    return out  # type: ignore[return-value]


def geojson(
    route: Route, router: Router, *, origin: Point | None = None, destination: Point | None = None
) -> dict[str, Any]:
    """The route, its connectors to the requested points, and every zone as one FeatureCollection (RFC 7946)."""
    avoided = {a.zone_id for a in route.avoided + route.blocked_by if a.zone_id}
    features: list[dict[str, Any]] = []
    if route.geometry is not None:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in route.geometry.coordinates]},
                "properties": {
                    "kind": "route",
                    "route_id": route.route_id,
                    "status": route.status,
                    "length_m": route.length_m,
                    "duration_s": route.duration_s,
                },
            }
        )
    moved = {"origin": route.origin_snap_m, "destination": route.destination_snap_m}
    for end, line in connectors(route, origin, destination):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in line]},
                "properties": {"kind": "connector", "end": end, "snap_m": moved[end]},
            }
        )
    for zone in router.zones:
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(zone.lonlat),
                "properties": {"kind": zone.kind, "zone_id": zone.id, "name": zone.name, "avoided": zone.id in avoided},
            }
        )
    for zone in router.zones:
        for road_id, name, line in zone.roads:
            features.append(
                {
                    "type": "Feature",
                    "geometry": mapping(line),
                    "properties": {"kind": DESIGNATED_ROAD.name, "road_id": road_id, "name": name, "area": zone.id},
                }
            )
    return {"type": "FeatureCollection", "features": features, "attribution": ATTRIBUTION}


def _bounds(route: Route, router: Router, asked: list[Point]) -> tuple[float, float, float, float]:
    xs: list[float] = [p[0] for p in asked]
    ys: list[float] = [p[1] for p in asked]
    if route.geometry is not None:
        xs += [c[0] for c in route.geometry.coordinates]
        ys += [c[1] for c in route.geometry.coordinates]
    for zone in router.zones:
        minx, miny, maxx, maxy = zone.lonlat.bounds
        xs += [minx, maxx]
        ys += [miny, maxy]
    if not xs:
        return router.net.bounds
    pad_x, pad_y = (max(xs) - min(xs)) * 0.1 + 0.005, (max(ys) - min(ys)) * 0.1 + 0.005
    return min(xs) - pad_x, min(ys) - pad_y, max(xs) + pad_x, max(ys) + pad_y


def road_lines(graph: Any, *, digits: int = 5) -> dict[str, list[list[list[float]]]]:
    """The road network as polylines, ``major`` and ``minor``, each road once (not per direction).

    The web page's base layer where no tile server is reachable; coordinates rounded to
    ``digits`` decimals (5: about a metre) keep the answer small.
    """
    out: dict[str, list[list[list[float]]]] = {"major": [], "minor": []}
    seen: set[tuple[Any, Any, Any]] = set()
    for u, v, k, data in graph.edges(keys=True, data=True):
        if (v, u, k) in seen:
            continue
        seen.add((u, v, k))
        coords = edge_geometry(graph, u, v, data).coords
        highway = data.get("highway")
        highway = highway[0] if isinstance(highway, list) else highway
        out["major" if highway in MAJOR else "minor"].append([[round(x, digits), round(y, digits)] for x, y in coords])
    return out


class _Canvas:
    """Lon/lat → SVG pixels for a frame 1000 px wide (stretched ~1/cos(latitude) at 45°N)."""

    def __init__(self, west: float, south: float, east: float, north: float) -> None:
        self.west, self.north = west, north
        self.width = 1000.0
        self.scale_x = self.width / (east - west)
        self.height = (north - south) * self.scale_x * 1.4
        self.scale_y = self.height / (north - south)
        self.frame = box(west, south, east, north)

    def xy(self, lon: float, lat: float) -> tuple[str, str]:
        return f"{(lon - self.west) * self.scale_x:.1f}", f"{(self.north - lat) * self.scale_y:.1f}"

    def path(self, coords: Any) -> str:
        return "M" + "L".join(",".join(self.xy(x, y)) for x, y in coords)


def _roads_svg(canvas: _Canvas, router: Router) -> str:
    minor, major = [], []
    for data, geom in zip(router.net.data, router.net.lonlat, strict=True):
        if not geom.intersects(canvas.frame):
            continue
        highway = data.get("highway")
        highway = highway[0] if isinstance(highway, list) else highway
        (major if highway in MAJOR else minor).append(canvas.path(geom.coords))
    return (
        f'<path d="{" ".join(minor)}" fill="none" stroke="#d0cdc4" stroke-width="0.8"/>'
        f'<path d="{" ".join(major)}" fill="none" stroke="#a8a398" stroke-width="1.8"/>'
    )


def _zones_svg(canvas: _Canvas, router: Router, avoided: set[str]) -> str:
    out = []
    for zone in router.zones:
        colour = ZONE_KINDS[zone.kind].colour
        polys = getattr(zone.lonlat, "geoms", [zone.lonlat])
        d = " ".join(canvas.path(p.exterior.coords) + "Z" for p in polys)
        dash = ' stroke-dasharray="8 4" stroke-width="3"' if zone.id in avoided else ' stroke-width="1.5"'
        label = html.escape(f"{zone.name or zone.id}{' — 已避让 avoided' if zone.id in avoided else ''}")
        x, y = canvas.xy(*zone.lonlat.representative_point().coords[0])
        out.append(
            f'<path class="zone" data-zone="{html.escape(zone.id)}" d="{d}" fill="{colour}" fill-opacity="0.18" stroke="{colour}"{dash}>'
            f"<title>{label}</title></path>"
            f'<text x="{x}" y="{y}" font-size="13" fill="{colour}">{label}</text>'
        )
        for road_id, name, line in zone.roads:  # a designated area's open roads, over its fill
            parts = getattr(line, "geoms", [line])
            out.append(
                f'<path class="designated-road" data-road="{html.escape(road_id)}" data-area="{html.escape(zone.id)}" '
                f'd="{" ".join(canvas.path(part.coords) for part in parts)}" fill="none" stroke="{DESIGNATED_ROAD.colour}" '
                f'stroke-width="3.5" stroke-opacity="0.85"><title>{html.escape(name or road_id)}</title></path>'
            )
    return "".join(out)


def _route_svg(canvas: _Canvas, route: Route, origin: Point | None, destination: Point | None) -> str:
    """The route, its ends, and the dashed connectors from the requested points to the road."""
    if route.geometry is None:
        return ""
    coords = route.geometry.coordinates
    (x0, y0), (x1, y1) = canvas.xy(*coords[0]), canvas.xy(*coords[-1])
    svg = (
        f'<path id="route" d="{canvas.path(coords)}" fill="none" stroke="#00a651" stroke-width="5" stroke-linejoin="round"/>'
        f'<circle cx="{x0}" cy="{y0}" r="7" fill="#00a651"><title>起点 origin</title></circle>'
        f'<circle cx="{x1}" cy="{y1}" r="7" fill="#222"><title>终点 destination</title></circle>'
    )
    moved = {"origin": route.origin_snap_m, "destination": route.destination_snap_m}
    for end, line in connectors(route, origin, destination):
        label = html.escape(
            f"{'起点' if end == 'origin' else '终点'}至道路 {moved[end] or 0:.0f} m ({end} to the road)"
        )
        x, y = canvas.xy(*line[0])
        svg += (
            f'<path class="connector" data-end="{end}" d="{canvas.path(line)}" fill="none" stroke="#555" '
            f'stroke-width="2" stroke-dasharray="5 4"><title>{label}</title></path>'
            f'<circle class="asked" cx="{x}" cy="{y}" r="5" fill="#fff" stroke="#555" stroke-width="2">'
            f"<title>{label}</title></circle>"
        )
    return svg


def _summary(route: Route) -> str:
    if route.status == "ok":
        arrive = route.arrive_at.isoformat() if route.arrive_at else ""
        return f"{route.length_m / 1000:.1f} km, {route.duration_s / 60:.0f} min, arrive {arrive}"
    summary = f"{route.status}: {route.reason_zh or ''} {route.reason_en or ''}"
    if route.earliest_departure_at:
        summary += f" — earliest permitted departure {route.earliest_departure_at.isoformat()}"
    return summary


def html_map(
    route: Route,
    router: Router,
    *,
    title: str = "",
    origin: Point | None = None,
    destination: Point | None = None,
) -> str:
    """A self-contained HTML page: roads, zones coloured by kind (avoided ones marked; a designated area with
    its designated roads drawn over it), the route and its connectors."""
    canvas = _Canvas(*_bounds(route, router, [p for p in (origin, destination) if p is not None]))
    explained = route.avoided + route.blocked_by
    avoided = {a.zone_id for a in explained if a.zone_id}
    reasons = "".join(f"<li>{html.escape(a.reason_zh)} / {html.escape(a.reason_en)}</li>" for a in explained)
    legend = "".join(
        f'<span><i style="background:{k.colour}"></i>{html.escape(f"{k.zh} {k.en}")}</span>'
        for k in (*ZONE_KINDS.values(), DESIGNATED_ROAD)
    )
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title or route.route_id)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }}
svg {{ background: #f7f6f2; border: 1px solid #ccc; max-width: 100%; height: auto; }}
.legend span {{ margin-right: 16px; }} .legend i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; opacity: .6; }}
footer {{ color: #666; font-size: 12px; margin-top: 6px; }}
</style></head><body>
<h1>{html.escape(title or "危险货物运输许可路线 permitted route")}</h1>
<p id="summary">{html.escape(route.plate)} · {html.escape(_summary(route))}</p>
<div class="legend"><span><i style="background:#00a651;opacity:1"></i>路线 route</span><span><i style="background:#555"></i>虚线：请求点至道路 dashed: requested point to the road</span>{legend}</div>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {canvas.width:.0f} {canvas.height:.0f}" width="{canvas.width:.0f}" height="{canvas.height:.0f}">
{_roads_svg(canvas, router)}
{_zones_svg(canvas, router, avoided)}
{_route_svg(canvas, route, origin, destination)}
</svg>
<h2>避让原因 avoided restrictions</h2><ul id="reasons">{reasons or "<li>—</li>"}</ul>
<footer>Map data {html.escape(ATTRIBUTION)} · drawn from the city's own road graph, no tiles needed</footer>
</body></html>
"""


def dumps_geojson(
    route: Route, router: Router, *, origin: Point | None = None, destination: Point | None = None
) -> str:
    return json.dumps(geojson(route, router, origin=origin, destination=destination), ensure_ascii=False)
