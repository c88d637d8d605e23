"""Snapping like a router (routing.md, "The answer"): onto the nearest road this load may use,
mid-segment, within ``max_snap_m``; the route starts and ends at the snapped points.

The expected distances and costs come from :mod:`tests.routing.reference` (a brute-force
shapely snap and networkx Dijkstra), never from the router itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, shape
from typer.testing import CliRunner

from hazmat import cli
from hazmat.cityconfig import ConfigError, load_city
from hazmat.routing.mapview import geojson, html_map
from hazmat.routing.policy import Load
from hazmat.routing.router import Router, RouteViolation
from tests.routing.reference import Reference
from tests.routing_helpers import CHENGDU, box_zone, request, zone

NIGHT = "2026-11-26T23:00:00+08:00"


def load_of(router: Router) -> Load:
    return Load.of(request((0, 0), (0, 0)).load, router.city.rules.tunnel_codes)


def reference(router: Router, *, weight: str = "travel_time", zones=()) -> Reference:
    return Reference(router.graph, router.projection, load_of(router), router.road_rules, zones, weight=weight)


def beside(router: Router, arc: int, fraction: float, offset_m: float) -> tuple[float, float]:
    """A lon/lat point ``offset_m`` to the left of ``arc`` at ``fraction`` of its length."""
    line = router.net.projected[arc]
    p = line.interpolate(fraction, normalized=True)
    a = line.interpolate(max(0.0, fraction - 0.01), normalized=True)
    b = line.interpolate(min(1.0, fraction + 0.01), normalized=True)
    dx, dy = b.x - a.x, b.y - a.y
    n = math.hypot(dx, dy)
    return router.projection.backward.transform(p.x - dy / n * offset_m, p.y + dx / n * offset_m)


def metric(router: Router, lon: float, lat: float) -> Point:
    return Point(router.projection.point(lon, lat))


def along(router: Router, arc: int, lonlat) -> float:
    """Where a lon/lat point lies along ``arc``, 0 … 1."""
    return float(shapely.line_locate_point(router.net.projected[arc], metric(router, *lonlat), normalized=True))


def straight_arcs(router: Router, *, arcs_per_road: int, min_m: float = 200.0) -> Iterator[int]:
    """Arcs of roads with that many arcs (1: one-way, 2: two-way), long, nearly straight and unrestricted."""
    net = router.net
    for arcs in net.road_arcs:
        i = arcs[0]
        line = net.projected[i]
        chord = Point(line.coords[0]).distance(Point(line.coords[-1]))
        straight = len(arcs) == arcs_per_road and line.length >= min_m and chord > 0.98 * line.length
        if straight and i not in net.restricted_set:
            yield i


def lands_on(router: Router, lonlat, arc: int) -> bool:
    snap = router.snap(*lonlat, load_of(router))
    return snap is not None and arc in {a for a, _ in snap.on}


# --- the garage ramp: a road closed to the load is never a snap target --------------------


def test_a_point_beside_a_garage_ramp_snaps_to_the_street_next_to_it(harbin_router):
    """A service road in an untagged tunnel (forbidden to hazmat loads) with a street a few metres away."""
    r = harbin_router
    ref = reference(r)
    load = load_of(r)
    closed = r._static_blocked(load)
    ramps = [
        i
        for i, d in enumerate(r.net.data)
        if d.get("highway") == "service" and d.get("tunnel_cat") == "untagged" and r.net.length[i] >= 40
    ]
    assert ramps, "the Harbin extract has service roads in untagged tunnels (garage ramps)"
    assert all(i in closed for i in ramps)
    case = None
    for ramp in ramps:
        point = beside(r, ramp, 0.5, 0.0)  # on the ramp itself: its nearest road of all is the ramp
        distance, _, snapped = ref.snap(*point)
        if 3.0 < distance < 100.0 and snapped.distance(r.net.projected[ramp]) > 3.0:  # beside it, not across it
            case = ramp, point, distance, snapped
            break
    assert case is not None, "a ramp with a street beside it within 100 m"
    ramp, point, distance, snapped = case
    far = r.net.node_ids[(r.net.head[ramp] + 3000) % len(r.net.node_ids)]
    to = (r.graph.nodes[far]["x"], r.graph.nodes[far]["y"])
    route = r.plan(request(point, to, at=NIGHT))
    assert route.status == "ok", route.reason_en
    assert route.origin_snap_m == pytest.approx(distance, abs=0.1)
    start = metric(r, *route.geometry.coordinates[0])
    assert start.distance(snapped) < 0.05  # the reference's snapped point, on the street
    assert start.distance(r.net.projected[ramp]) > 1.0  # not on the ramp
    assert not any(a.kind == "tunnel" for a in route.avoided)  # from the street, the free route needs no tunnel
    # where the city allows untagged tunnels, the same point stays on the ramp
    rules = r.road_rules
    try:
        r.road_rules = dataclasses.replace(rules, untagged_tunnel_forbidden=False)
        r.refresh_restrictions()
        allowed = r.plan(request(point, to, at=NIGHT))
    finally:
        r.road_rules = rules
        r.refresh_restrictions()
    assert allowed.status == "ok"
    assert allowed.origin_snap_m == pytest.approx(0.0, abs=0.1)


# --- max_snap_m: no_road_nearby, before zones, after outside_map --------------------------


@pytest.fixture(scope="module")
def far_point(router) -> tuple[tuple[float, float], float]:
    """A point inside the Chengdu map's area more than 500 m from every road (the reference decides)."""
    ref = reference(router)
    minx, miny, maxx, maxy = router.net.hull.bounds
    for x in np.arange(minx, maxx, 250.0):
        for y in np.arange(miny, maxy, 250.0):
            if not router.net.hull.contains(Point(x, y)):
                continue
            snap = router._snap(float(x), float(y), load_of(router))
            if snap.distance_m > 540:  # a candidate; the reference confirms
                lonlat = router.projection.backward.transform(float(x), float(y))
                distance = ref.snap(*lonlat)[0]
                if distance > 520:
                    return lonlat, distance
    pytest.fail("the Chengdu map has no point 500 m from every road")


def test_a_point_beyond_max_snap_m_is_no_road_nearby_naming_the_end_and_the_distance(router, with_zones, far_point):
    with_zones()
    point, distance = far_point
    near = beside(router, next(straight_arcs(router, arcs_per_road=2)), 0.5, 10.0)
    r = router.plan(request(near, point))
    assert r.status == "no_road_nearby"
    assert r.geometry is None
    assert r.destination_snap_m == pytest.approx(distance, abs=0.1)
    assert r.origin_snap_m == pytest.approx(10.0, abs=0.1)
    assert "destination" in r.reason_en
    assert f"{distance:.0f} m" in r.reason_en
    assert "500 m" in r.reason_en
    assert "终点" in r.reason_zh
    both = router.plan(request(point, point))
    assert both.status == "no_road_nearby"
    assert "origin" in both.reason_en
    assert "destination" in both.reason_en
    # the limit is the city's: raised to 1 km, the same point is routed from the road 500+ m away
    wide = dataclasses.replace(router.city, settings=router.city.settings.model_copy(update={"max_snap_m": 1000.0}))
    saved = router.city
    try:
        router.city = wide
        routed = router.plan(request(near, point, at=NIGHT))
    finally:
        router.city = saved
    assert routed.status in ("ok", "no_permitted_route")
    assert routed.destination_snap_m == pytest.approx(distance, abs=0.1)


def test_a_point_off_the_map_is_still_outside_map(router, with_zones):
    with_zones()
    r = router.plan(request((100.0, 30.0), (100.0, 30.1)))
    assert r.status == "outside_map"
    assert "the origin and the destination are outside the city's map" in r.reason_en
    assert r.origin_snap_m is None
    assert r.destination_snap_m is None


def test_hazmat_route_exits_2_for_no_road_nearby(chengdu_graph, far_point):
    (lon, lat), _ = far_point
    result = CliRunner().invoke(
        cli.app,
        ["route", "--config", str(CHENGDU), "--from", "104.0600,30.6700", "--to", f"{lon:.6f},{lat:.6f}", "--json"],
    )
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["status"] == "no_road_nearby"


def test_max_snap_m_is_validated_with_file_and_field(tmp_path):
    city = tmp_path / "city"
    city.mkdir()
    for name in ("rules.yaml", "blacklist.yaml", "zones.geojson"):
        (city / name).write_text((CHENGDU / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (CHENGDU / "city.yaml").read_text(encoding="utf-8")
    (city / "city.yaml").write_text(text + "max_snap_m: -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"city\.yaml: max_snap_m"):
        load_city(city)
    (city / "city.yaml").write_text(text + "max_snap_m: 250\n", encoding="utf-8")
    assert load_city(city).settings.max_snap_m == 250


# --- mid-segment starts and ends: one-way streets, one segment, partial costs -------------


def test_a_point_beside_a_one_way_street_leaves_in_its_direction(router, with_zones):
    with_zones()
    ref = reference(router)
    arc = next(i for i in straight_arcs(router, arcs_per_road=1) if lands_on(router, beside(router, i, 0.5, 4.0), i))
    origin = beside(router, arc, 0.5, 4.0)
    downstream, upstream = beside(router, arc, 0.8, 4.0), beside(router, arc, 0.2, 4.0)
    ahead = router.plan(request(origin, downstream, at=NIGHT))
    assert ahead.status == "ok"
    assert ahead.origin_snap_m == pytest.approx(4.0, abs=0.05)
    assert ahead.duration_s == pytest.approx(ref.route_cost(origin, downstream), abs=0.05)
    assert ahead.length_m == pytest.approx(0.3 * router.net.length[arc], rel=0.02)  # along the street only
    assert all(router.net.projected[arc].distance(metric(router, *c)) < 0.05 for c in ahead.geometry.coordinates)
    behind = router.plan(request(origin, upstream, at=NIGHT))
    assert behind.status == "ok"
    assert behind.duration_s == pytest.approx(ref.route_cost(origin, upstream), abs=0.05)
    assert behind.length_m > 0.5 * router.net.length[arc]  # round the block, not backwards up the street
    first, second = behind.geometry.coordinates[:2]
    assert along(router, arc, second) > along(router, arc, first)  # leaves in the street's direction
    assert along(router, arc, first) == pytest.approx(0.5, abs=0.02)


def test_origin_and_destination_on_one_two_way_segment(router, with_zones):
    with_zones()
    ref = reference(router, weight="length")
    arc = next(
        i
        for i in straight_arcs(router, arcs_per_road=2)
        if lands_on(router, beside(router, i, 0.3, 3.0), i) and lands_on(router, beside(router, i, 0.7, 3.0), i)
    )
    a, b = beside(router, arc, 0.3, 3.0), beside(router, arc, 0.7, 3.0)
    for o, d in ((a, b), (b, a)):
        r = router.plan(request(o, d, at=NIGHT, optimize="distance"))
        assert r.status == "ok"
        assert r.length_m == pytest.approx(ref.route_cost(o, d), abs=0.1)
        assert r.length_m == pytest.approx(0.4 * router.net.length[arc], rel=0.02)
        assert r.duration_s == pytest.approx(0.4 * router.net.time[arc], rel=0.02)  # the partial segment's time
        assert all(router.net.projected[arc].distance(metric(router, *c)) < 0.05 for c in r.geometry.coordinates)
        assert metric(router, *r.geometry.coordinates[0]).distance(metric(router, *o)) == pytest.approx(3.0, abs=0.05)


def test_the_route_starts_and_ends_at_the_snapped_points(router, with_zones):
    with_zones()
    arcs = straight_arcs(router, arcs_per_road=2)
    o, d = beside(router, next(arcs), 0.37, 12.0), beside(router, next(arcs), 0.61, 20.0)
    r = router.plan(request(o, d, at=NIGHT))
    assert r.status == "ok"
    ref = reference(router)
    assert r.duration_s == pytest.approx(ref.route_cost(o, d), abs=0.05)
    start, end = metric(router, *r.geometry.coordinates[0]), metric(router, *r.geometry.coordinates[-1])
    assert start.distance(metric(router, *o)) == pytest.approx(r.origin_snap_m, abs=0.1)
    assert end.distance(metric(router, *d)) == pytest.approx(r.destination_snap_m, abs=0.1)
    assert start.distance(ref.snap(*o)[2]) < 0.05
    assert end.distance(ref.snap(*d)[2]) < 0.05


# --- which roads may be snapped to --------------------------------------------------------


def test_a_road_it_may_use_is_snapped_to_and_a_road_closed_by_hazmat_no_is_not(router, with_zones):
    with_zones()
    net = router.net
    trunk = next(
        i
        for i in straight_arcs(router, arcs_per_road=2, min_m=120)
        if net.data[i].get("highway") == "trunk" and lands_on(router, beside(router, i, 0.5, 6.0), i)
    )
    point = beside(router, trunk, 0.5, 6.0)
    to = beside(router, next(straight_arcs(router, arcs_per_road=2)), 0.5, 5.0)
    open_ = router.plan(request(point, to, at=NIGHT))
    assert open_.status == "ok"
    assert open_.origin_snap_m == pytest.approx(6.0, abs=0.05)
    road = net.road_arcs[net.road_of[trunk]]
    saved = [net.data[i].get("hazmat_no") for i in road]
    try:
        for i in road:
            net.data[i]["hazmat_no"] = True
        router.refresh_restrictions()
        expected, _, snapped = reference(router).snap(*point)
        closed = router.plan(request(point, to, at=NIGHT))
    finally:
        for i, value in zip(road, saved, strict=True):
            net.data[i]["hazmat_no"] = value
        router.refresh_restrictions()
    assert expected > 6.5  # the next road is farther than the closed one
    assert closed.status == "ok"
    assert closed.origin_snap_m == pytest.approx(expected, abs=0.1)
    assert metric(router, *closed.geometry.coordinates[0]).distance(snapped) < 0.05
    assert metric(router, *closed.geometry.coordinates[0]).distance(net.projected[trunk]) > 1.0


def test_zones_do_not_steer_the_snap(router, with_zones):
    """A point beside a street inside a zone stays on that street, and the zone is named."""
    arc = next(i for i in straight_arcs(router, arcs_per_road=2) if lands_on(router, beside(router, i, 0.5, 5.0), i))
    point = beside(router, arc, 0.5, 5.0)
    middle = router.projection.backward.transform(
        *router.net.projected[arc].interpolate(0.5, normalized=True).coords[0]
    )
    around = box_zone("rs-here", middle, 0.0003)
    assert shape(around.geometry.model_dump()).contains(Point(middle))
    to = beside(router, next(straight_arcs(router, arcs_per_road=1)), 0.5, 5.0)
    r = with_zones(around).plan(request(point, to))
    assert r.status == "no_permitted_route"
    assert [b.zone_id for b in r.blocked_by] == ["rs-here"]
    assert r.origin_snap_m == pytest.approx(5.0, abs=0.05)


# --- the partial segments against the zones: the part actually driven ----------------------


def _end_zone(router: Router, arc: int, lo: float, hi: float, zone_id: str):
    """A zone over the part of ``arc`` from ``lo`` to ``hi`` (and 10 m around it), nothing of the rest."""
    part = shapely.ops.substring(router.net.projected[arc], lo, hi, normalized=True).buffer(10.0)
    west, south, east, north = router.projection.to_lonlat(part).bounds
    return zone(zone_id, west, south, east, north)


def test_a_destination_short_of_a_zone_on_its_street_is_reached(router, with_zones):
    """The street's far end lies in a zone; the destination, before it, is reached without entering it."""
    arc = next(
        i
        for i in straight_arcs(router, arcs_per_road=1, min_m=250)
        if lands_on(router, beside(router, i, 0.35, 4.0), i) and lands_on(router, beside(router, i, 0.02, 4.0), i)
    )
    far_end = _end_zone(router, arc, 0.8, 1.0, "rs-far-end")
    destination = beside(router, arc, 0.35, 4.0)
    r = with_zones(far_end)
    assert arc in r.zone_edges[0]  # the whole edge meets the zone …
    same_street = r.plan(request(beside(router, arc, 0.02, 4.0), destination))
    assert same_street.status == "ok", same_street.reason_en  # … the part driven does not
    assert same_street.length_m == pytest.approx(0.33 * r.net.length[arc], rel=0.05)
    elsewhere = beside(router, next(straight_arcs(router, arcs_per_road=2)), 0.5, 5.0)
    ref = reference(router, zones=[router.projection.to_metric(shape(far_end.geometry.model_dump()))])
    expected = ref.route_cost(elsewhere, destination)
    assert expected is not None
    from_elsewhere = r.plan(request(elsewhere, destination))
    assert from_elsewhere.status == "ok", from_elsewhere.reason_en
    assert from_elsewhere.duration_s == pytest.approx(expected, abs=0.05)
    for route in (same_street, from_elsewhere):
        assert not shape(far_end.geometry.model_dump()).intersects(LineString(route.geometry.coordinates))


def test_a_destination_past_a_zone_on_a_one_way_street_is_refused_naming_the_zone(router, with_zones):
    arc = next(
        i for i in straight_arcs(router, arcs_per_road=1, min_m=250) if lands_on(router, beside(router, i, 0.7, 4.0), i)
    )
    near_end = _end_zone(router, arc, 0.0, 0.25, "rs-near-end")
    destination = beside(router, arc, 0.7, 4.0)
    to = beside(router, next(straight_arcs(router, arcs_per_road=2)), 0.5, 5.0)
    r = with_zones(near_end).plan(request(to, destination))
    assert r.status == "no_permitted_route"  # the one way in drives through the zone
    assert [b.zone_id for b in r.blocked_by] == ["rs-near-end"]


def test_the_recheck_tests_the_part_driven(router, with_zones):
    arc = next(straight_arcs(router, arcs_per_road=1, min_m=250))
    r = with_zones(_end_zone(router, arc, 0.0, 0.25, "rs-start"))
    load = load_of(router)
    depart = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
    r.recheck(r.net.path([arc], start=0.5, end=0.9), load, depart)  # starts past the zone: fine
    with pytest.raises(RouteViolation, match="route enters zone rs-start"):
        r.recheck(r.net.path([arc], start=0.1, end=0.9), load, depart)


# --- the map and the GeoJSON draw the connectors ------------------------------------------


def test_the_map_draws_connectors_from_the_requested_points(router, with_zones):
    with_zones()
    arcs = straight_arcs(router, arcs_per_road=2)
    o, d = beside(router, next(arcs), 0.4, 30.0), beside(router, next(arcs), 0.6, 25.0)
    r = router.plan(request(o, d, at=NIGHT))
    assert r.status == "ok"
    doc = geojson(r, router, origin=o, destination=d)
    connectors = {f["properties"]["end"]: f for f in doc["features"] if f["properties"]["kind"] == "connector"}
    assert set(connectors) == {"origin", "destination"}
    assert connectors["origin"]["geometry"]["coordinates"] == [list(o), list(r.geometry.coordinates[0])]
    assert connectors["destination"]["geometry"]["coordinates"] == [list(d), list(r.geometry.coordinates[-1])]
    assert connectors["origin"]["properties"]["snap_m"] == r.origin_snap_m
    page = html_map(r, router, origin=o, destination=d)
    assert page.count('class="connector"') == 2
    assert 'stroke-dasharray="5 4"' in page
    assert 'class="connector"' not in html_map(r, router)  # no requested points given: nothing to connect
