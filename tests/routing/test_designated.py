"""Designated areas and their roads (规定路线, routing.md item 5): inside an active area only its roads are open."""

from __future__ import annotations

import random
from datetime import datetime
from itertools import pairwise

import networkx as nx
import pytest
import shapely
from shapely.geometry import LineString, Point, box, shape

from hazmat.routing import tdsearch
from hazmat.routing.mapview import geojson, html_map
from hazmat.routing.policy import Load
from hazmat.routing.router import Router, RouteViolation
from hazmat.routing.zones import CORRIDOR_QUAD_SEGS
from tests.routing.reference import Reference
from tests.routing.test_router import DAY, NIGHT, node_lonlat
from tests.routing_helpers import request, road, zone

HALF = 0.003  # an area 600 m across


def _area(area_id: str, centre: tuple[float, float], half: float = HALF, **props):
    cx, cy = centre
    return zone(area_id, cx - half, cy - half, cx + half, cy + half, kind="designated_area", **props)


def _lines(geom) -> list[list[tuple[float, float]]]:
    return [list(g.coords) for g in getattr(geom, "geoms", [geom]) if g.length > 0]


def _inside(router: Router, geom_lonlat, centre, half=HALF):
    """A lon/lat line cut to the area (shrunk a hair, so it lies inside) and merged."""
    cx, cy = centre
    inner = box(cx - half + 1e-6, cy - half + 1e-6, cx + half - 1e-6, cy + half - 1e-6)
    return shapely.line_merge(shapely.intersection(geom_lonlat, inner))


def _open_part(router: Router, lines_lonlat, match_m: float = 20.0):
    return shapely.buffer(router.projection.to_metric(lines_lonlat), match_m, quad_segs=CORRIDOR_QUAD_SEGS)


def _strays(router: Router, route, area_feature, lines_lonlat, match_m: float = 20.0) -> float:
    """How many metres of the route lie inside the area and off its open roads."""
    line = router.projection.to_metric(LineString(route.geometry.coordinates))
    area = router.projection.to_metric(shape(area_feature.geometry.model_dump()))
    return float(line.difference(_open_part(router, lines_lonlat, match_m)).intersection(area).length)


def _hops(router: Router, nodes: list) -> list[LineString]:
    """The lon/lat lines of a node path of the graph (each hop along its shortest edge)."""
    graph, out = router.graph, []
    for a, b in pairwise(nodes):
        k = min(graph[a][b], key=lambda k: graph[a][b][k]["length"])
        xy = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (a, b)]
        out.append(graph[a][b][k].get("geometry") or LineString(xy))
    return out


def _another_way(router: Router, coords, mid):
    """A designated road through the area around ``mid`` that leaves the route: the route's way into the area up to
    its first crossing inside, the shortest way from there to its last crossing inside that takes none of its
    crossings or streets in between, and its way out (lon/lat, cut to the area; ``None``: no other way)."""
    frame = box(mid[0] - HALF + 1e-6, mid[1] - HALF + 1e-6, mid[0] + HALF - 1e-6, mid[1] + HALF - 1e-6)
    net, graph = router.net, router.graph
    node_at = {(round(x, 7), round(y, 7)): n for n, x, y in zip(net.node_ids, net.xs, net.ys, strict=True)}
    crossings = [k for k, c in enumerate(map(tuple, coords)) if c in node_at and frame.contains(Point(c))]
    if len(crossings) < 3:
        return None
    on_route = [node_at[tuple(coords[k])] for k in crossings]
    # the route's own way in and out of the area, up to its first and from its last crossing inside
    hops = [LineString(coords[: crossings[0] + 1]), LineString(coords[crossings[-1] :])]
    inside = graph.subgraph(
        n for i, n in enumerate(net.node_ids) if frame.contains(Point(net.xs[i], net.ys[i])) and n not in on_route[1:-1]
    ).copy()
    inside.remove_edges_from([(a, b) for a, b in pairwise(on_route) if inside.has_edge(a, b)])
    try:
        nodes = nx.shortest_path(inside, on_route[0], on_route[-1], weight="length")
    except nx.NetworkXNoPath:
        return None
    hops += _hops(router, nodes)
    return _inside(router, shapely.union_all(hops), mid)


@pytest.fixture
def case(router, with_zones):
    """A free route, an area over a stretch of it, and a designated road through the area that is not the free
    route (:func:`_another_way`)."""
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = with_zones().plan(request(origin, destination))
    assert free.status == "ok"
    coords = free.geometry.coordinates
    for fraction in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8):
        mid = coords[int(len(coords) * fraction)]
        lines = _another_way(router, coords, mid)
        if lines is not None and lines.length > 0:
            return origin, destination, free, mid, lines
    pytest.fail("no stretch of the route has another way across its area")


def test_a_route_through_a_designated_area_keeps_to_its_roads_and_names_the_area(router, with_zones, case):
    origin, destination, free, mid, lines = case
    area = _area("da-mid", mid, name="中段规定路线区")
    r = with_zones(area, road("dr-mid", "da-mid", _lines(lines))).plan(request(origin, destination))
    assert r.status == "ok", r.reason_en
    assert r.geometry != free.geometry
    assert _strays(router, r, area, lines) == pytest.approx(0, abs=1e-6)
    assert _strays(router, free, area, lines) > 50  # the free route cuts through the area off the road
    inside = router.projection.to_metric(shape(area.geometry.model_dump()))
    assert router.projection.to_metric(LineString(r.geometry.coordinates)).intersection(inside).length > 100
    assert [a.zone_id for a in r.avoided] == ["da-mid"]
    assert r.avoided[0].kind == "designated_area"
    assert "designated roads" in r.avoided[0].reason_en
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    reference = Reference(
        router.graph,
        router.projection,
        load,
        router.road_rules,
        areas=[(router.projection.to_metric(shape(area.geometry.model_dump())), _open_part(router, lines))],
    )
    assert r.duration_s == pytest.approx(reference.route_cost(origin, destination), abs=0.05)


def test_a_designated_area_outside_its_window_changes_nothing(router, with_zones, case):
    origin, destination, _free, mid, lines = case
    daytime = [_area("da-day", mid, windows=[{"start": "07:00", "end": "21:00"}]), road("dr", "da-day", _lines(lines))]
    night = with_zones(*daytime).plan(request(origin, destination, at=NIGHT))
    free_night = with_zones().plan(request(origin, destination, at=NIGHT))
    assert night.geometry == free_night.geometry
    assert night.avoided == []
    day = with_zones(*daytime).plan(request(origin, destination, at=DAY))
    assert day.geometry != free_night.geometry
    assert [a.zone_id for a in day.avoided] == ["da-day"]
    assert "time window" in day.avoided[0].reason_en


def test_a_designated_area_for_other_classes_lets_the_load_through(router, with_zones, case):
    origin, destination, free, mid, lines = case
    flammables = [_area("da-3", mid, applies_to={"hazard_classes": ["3"]}), road("dr", "da-3", _lines(lines))]
    ammonia = with_zones(*flammables).plan(request(origin, destination, un="UN1005", hazard_class="2.3"))
    assert ammonia.geometry == free.geometry
    petrol = with_zones(*flammables).plan(request(origin, destination, un="UN1203", hazard_class="3"))
    assert [a.zone_id for a in petrol.avoided] == ["da-3"]
    assert _strays(router, petrol, flammables[0], lines) == pytest.approx(0, abs=1e-6)


def test_ends_inside_an_area_on_a_designated_road_route_and_off_it_are_refused(router, with_zones, case):
    origin, _destination, _free, mid, lines = case
    features = [_area("da-end", mid, windows=[{"start": "07:00", "end": "21:00"}]), road("dr", "da-end", _lines(lines))]
    longest = max(getattr(lines, "geoms", [lines]), key=lambda g: g.length)
    on_road = longest.interpolate(0.5, normalized=True)
    r = with_zones(*features).plan(request(origin, (on_road.x, on_road.y)))
    assert r.status == "ok", r.reason_en
    # a node of the area farthest from the road: off it by far more than match_m
    open_part = _open_part(router, lines)
    area = router.projection.to_metric(shape(features[0].geometry.model_dump()))
    inside = [
        i
        for i, xy in enumerate(router.net.node_xy.tolist())
        if area.contains(Point(xy)) and not open_part.buffer(80).contains(Point(xy))
    ]
    assert inside, "the area holds streets away from its designated road"
    off = node_lonlat(router, inside[0])
    refused = with_zones(*features).plan(request(origin, off))
    assert refused.status == "no_permitted_route"
    assert [b.zone_id for b in refused.blocked_by] == ["da-end"]
    assert refused.earliest_departure_at is not None
    assert refused.earliest_departure_at.isoformat() == "2026-11-26T21:00:00+08:00"


def test_no_route_when_the_designated_roads_do_not_connect(router, with_zones):
    """Two designated roads of one area that do not meet: from one to the other there is no permitted way."""
    rng = random.Random(5)
    net = router.net
    for _ in range(200):
        centre = node_lonlat(router, rng.randrange(len(net.node_ids)))
        frame = box(centre[0] - HALF, centre[1] - HALF, centre[0] + HALF, centre[1] + HALF)
        long_edges = [i for i, g in enumerate(net.lonlat) if g.within(frame) and net.length[i] > 120]
        far = [(a, b) for a in long_edges for b in long_edges if net.lonlat[a].distance(net.lonlat[b]) > 0.003]
        if far:
            break
    else:
        pytest.fail("no area with two long streets far apart")
    a, b = far[0]
    area = _area("da-split", centre)
    roads = [road("dr-a", "da-split", _lines(net.lonlat[a])), road("dr-b", "da-split", _lines(net.lonlat[b]))]
    start, end = net.lonlat[a].interpolate(0.5, normalized=True), net.lonlat[b].interpolate(0.5, normalized=True)
    r = with_zones(area, *roads).plan(request((start.x, start.y), (end.x, end.y)))
    assert r.status == "no_permitted_route"
    assert [x.zone_id for x in r.blocked_by] == ["da-split"]
    assert "da-split" in r.reason_en
    assert r.earliest_departure_at is None  # always active: no later departure helps
    load = Load.of(request(start.coords[0], end.coords[0]).load, router.city.rules.tunnel_codes)
    lines = shapely.union(net.lonlat[a], net.lonlat[b])
    reference = Reference(
        router.graph,
        router.projection,
        load,
        router.road_rules,
        areas=[(router.projection.to_metric(frame), _open_part(router, lines))],
    )
    assert reference.route_cost((start.x, start.y), (end.x, end.y)) is None


def test_random_designated_areas_against_the_reference(router, with_zones):
    """Random areas whose designated road is a real way through them; random ends near the roads, by distance."""
    rng = random.Random(1126)
    graph, net = router.graph, router.net
    checked = refused = 0
    while checked + refused < 14:
        centre = node_lonlat(router, rng.randrange(len(net.node_ids)))
        frame = box(centre[0] - HALF, centre[1] - HALF, centre[0] + HALF, centre[1] + HALF)
        inside = [i for i, xy in enumerate(zip(net.xs, net.ys, strict=True)) if frame.contains(Point(xy))]
        if len(inside) < 10:
            continue
        u, v = (net.node_ids[i] for i in rng.sample(inside, 2))
        try:
            nodes = nx.shortest_path(graph, u, v, weight="length")
        except nx.NetworkXNoPath:
            continue
        way = shapely.line_merge(shapely.union_all(_hops(router, nodes)))
        lines = _inside(router, way, centre)
        if lines.length == 0:
            continue
        area = _area("da-r", centre)
        r = with_zones(area, road("dr-r", "da-r", _lines(lines)))
        o = node_lonlat(router, rng.randrange(len(net.node_ids)))
        d = node_lonlat(router, rng.randrange(len(net.node_ids)))
        o = (o[0] + rng.uniform(-0.0008, 0.0008), o[1] + rng.uniform(-0.0008, 0.0008))
        d = (d[0] + rng.uniform(-0.0008, 0.0008), d[1] + rng.uniform(-0.0008, 0.0008))
        found = r.plan(request(o, d, optimize="distance"))
        load = Load.of(request(o, d).load, router.city.rules.tunnel_codes)
        reference = Reference(
            graph,
            router.projection,
            load,
            router.road_rules,
            weight="length",
            areas=[(router.projection.to_metric(frame), _open_part(router, lines))],
        )
        expected = reference.route_cost(o, d)
        if expected is None:
            assert found.status == "no_permitted_route", found
            refused += 1
            continue
        assert found.status == "ok", found.reason_en
        assert found.length_m == pytest.approx(expected, abs=0.5)
        assert _strays(router, found, area, lines) == pytest.approx(0, abs=1e-6)
        checked += 1
    assert checked >= 8


def test_the_recheck_catches_a_route_off_the_designated_roads(router, with_zones, case):
    origin, destination, _free, mid, lines = case
    r = with_zones(_area("da-mid", mid), road("dr", "da-mid", _lines(lines)))
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    starts, stops = r.snap(*origin, load).starts(r.net), r.snap(*destination, load).stops(r.net)
    found = tdsearch.search(r.net, starts, stops, 0, r.net.time, lambda _i, _t: False)  # ignores the area
    with pytest.raises(RouteViolation, match="route leaves the designated roads of da-mid"):
        r.recheck(found, load, datetime.fromisoformat(DAY))


def test_the_map_draws_the_area_and_its_roads(router, with_zones, case):
    origin, destination, _free, mid, lines = case
    r = with_zones(_area("da-mid", mid, name="中段规定路线区"), road("dr-mid", "da-mid", _lines(lines), name="某路"))
    route = r.plan(request(origin, destination))
    doc = geojson(route, r)
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds == ["route", "designated_area", "designated_road"]
    assert doc["features"][1]["properties"]["avoided"] is True
    assert doc["features"][2]["properties"] | {"name": "某路"} == {
        "kind": "designated_road",
        "road_id": "dr-mid",
        "name": "某路",
        "area": "da-mid",
    }
    page = html_map(route, r)
    assert 'class="designated-road" data-road="dr-mid" data-area="da-mid"' in page
    assert 'data-zone="da-mid"' in page
    assert "规定路线 designated road" in page


@pytest.fixture(scope="module")
def harbin_zoned(harbin) -> Router:
    """Central Harbin with its bundled zones, the example designated area among them."""
    from hazmat.routing import graph as road_graph

    return Router(road_graph.load(harbin), harbin)


def _harbin_request(origin, destination):
    return request(origin, destination, at="2026-11-26T09:00:00+08:00", plate="黑A12345")


def test_the_harbin_example_area_on_the_demo_route(harbin_zoned):
    """The demo's route is refused the centre by day and the example area off its roads: both are named."""
    r = harbin_zoned.plan(_harbin_request((126.58, 45.74), (126.69, 45.76)))
    assert r.status == "ok"
    named = [a.zone_id for a in r.avoided if a.zone_id]
    assert named == ["rs-daoli-nangang", "da-hongqi-nanzhi-example"]  # in the order the free route meets them
    z = [zone.id for zone in harbin_zoned.zones].index("da-hongqi-nanzhi-example")
    area = harbin_zoned.zones[z]
    line = harbin_zoned.projection.to_metric(LineString(r.geometry.coordinates))
    assert not area.metric.intersects(line.difference(area.corridor))


def test_the_harbin_example_area_is_crossed_on_its_roads_and_refused_off_them(harbin_zoned):
    z = [zone.id for zone in harbin_zoned.zones].index("da-hongqi-nanzhi-example")
    area = harbin_zoned.zones[z]
    assert {road_id for road_id, _, _ in area.roads} == {"dr-hongqi", "dr-nanzhi", "dr-dongzhi"}
    # from 红旗大街 south of the area to 南直路 inside it: along the designated roads
    r = harbin_zoned.plan(_harbin_request((126.687, 45.755), (126.6955, 45.7864)))
    assert r.status == "ok", r.reason_en
    line = harbin_zoned.projection.to_metric(LineString(r.geometry.coordinates))
    assert line.intersection(area.metric).length > 1000
    assert not area.metric.intersects(line.difference(area.corridor))
    # to a side street inside it: refused, naming the area
    refused = harbin_zoned.plan(_harbin_request((126.687, 45.755), (126.70, 45.775)))
    assert refused.status == "no_permitted_route"
    assert [b.zone_id for b in refused.blocked_by] == ["da-hongqi-nanzhi-example"]
