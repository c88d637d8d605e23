"""The router on a real extract (central Chengdu): never inside an active zone, optimal, explained."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from shapely.geometry import LineString, Point, shape

from hazmat.routing import tdsearch
from hazmat.routing.mapview import geojson, html_map
from hazmat.routing.network import End, Path
from hazmat.routing.policy import Load
from hazmat.routing.restrictions import CityRoadRules
from hazmat.routing.router import Router, RouteViolation
from tests.routing.reference import Reference
from tests.routing_helpers import box_zone, request, zone

DAY = "2026-11-26T10:00:00+08:00"
NIGHT = "2026-11-26T23:00:00+08:00"


def node_lonlat(router: Router, i: int) -> tuple[float, float]:
    data = router.graph.nodes[router.net.node_ids[i]]
    return data["x"], data["y"]


def random_case(router: Router, rng: random.Random, *, jitter: float = 0.0):
    """An origin, a destination and 1–4 always-active square zones (200–700 m) that leave both ends free.

    The ends are two nodes, moved by up to ``jitter`` degrees each way (off the node, so they snap mid-edge).
    """
    while True:
        o, d = rng.sample(range(len(router.net.node_ids)), 2)
        origin, destination = node_lonlat(router, o), node_lonlat(router, d)
        origin = (origin[0] + rng.uniform(-jitter, jitter), origin[1] + rng.uniform(-jitter, jitter))
        destination = (destination[0] + rng.uniform(-jitter, jitter), destination[1] + rng.uniform(-jitter, jitter))
        zones = []
        for k in range(rng.randint(1, 4)):
            cx, cy = node_lonlat(router, rng.randrange(len(router.net.node_ids)))
            half = rng.uniform(0.001, 0.0035)
            zones.append(box_zone(f"z{k}", (cx, cy), half))
        shapes = [shape(z.geometry.model_dump()) for z in zones]
        if not any(s.intersects(Point(origin)) or s.intersects(Point(destination)) for s in shapes):
            return o, d, origin, destination, zones, shapes


def test_random_routes_never_enter_a_zone_and_are_as_short_as_the_reference(router, with_zones):
    """Random points near the roads (so the ends snap mid-edge) against the networkx reference, by distance."""
    rng = random.Random(20261126)
    checked = 0
    for _ in range(25):
        _o, _d, origin, destination, zones, shapes = random_case(router, rng, jitter=0.0008)
        r = with_zones(*zones).plan(request(origin, destination, optimize="distance"))
        load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
        metric_shapes = [router.projection.to_metric(s) for s in shapes]
        reference = Reference(router.graph, router.projection, load, router.road_rules, metric_shapes, weight="length")
        expected = reference.route_cost(origin, destination)
        if expected is None:
            assert r.status == "no_permitted_route"
            continue
        assert r.status == "ok", r.reason_en
        line = LineString(r.geometry.coordinates)
        assert not any(s.intersects(line) for s in shapes), "route enters a zone"
        assert r.length_m == pytest.approx(expected, abs=0.5)
        checked += 1
    assert checked >= 15


def _crossing_case(router, with_zones):
    """A route and a zone square over its middle (so the zone really is in the way)."""
    free_router = with_zones()
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = free_router.plan(request(origin, destination))
    assert free.status == "ok"
    mid = free.geometry.coordinates[len(free.geometry.coordinates) // 2]
    return origin, destination, free, mid


def test_a_zone_in_the_way_is_avoided_and_named(router, with_zones):
    origin, destination, free, mid = _crossing_case(router, with_zones)
    blocking = box_zone("rs-mid", mid, 0.002, name="中段限行")
    r = with_zones(blocking).plan(request(origin, destination))
    assert r.status == "ok"
    assert r.geometry != free.geometry
    assert not shape(blocking.geometry.model_dump()).intersects(LineString(r.geometry.coordinates))
    assert [a.zone_id for a in r.avoided] == ["rs-mid"]
    assert r.duration_s >= free.duration_s


def test_a_zone_outside_its_window_changes_nothing(router, with_zones):
    origin, destination, free, mid = _crossing_case(router, with_zones)
    daytime = zone(
        "rs-day",
        mid[0] - 0.002,
        mid[1] - 0.002,
        mid[0] + 0.002,
        mid[1] + 0.002,
        windows=[{"start": "07:00", "end": "21:00"}],
    )
    night = with_zones(daytime).plan(request(origin, destination, at=NIGHT))
    free_night = with_zones().plan(request(origin, destination, at=NIGHT))
    assert night.geometry == free_night.geometry
    assert night.avoided == []
    day = with_zones(daytime).plan(request(origin, destination, at=DAY))
    assert day.geometry != free.geometry


def test_a_window_crossing_midnight(router, with_zones):
    origin, destination, _free, mid = _crossing_case(router, with_zones)
    overnight = zone(
        "rs-night",
        mid[0] - 0.002,
        mid[1] - 0.002,
        mid[0] + 0.002,
        mid[1] + 0.002,
        windows=[{"start": "22:00", "end": "06:00"}],
    )
    assert [a.zone_id for a in with_zones(overnight).plan(request(origin, destination, at=NIGHT)).avoided] == [
        "rs-night"
    ]
    assert with_zones(overnight).plan(request(origin, destination, at=DAY)).avoided == []


def test_a_zone_for_other_classes_lets_the_load_pass(router, with_zones):
    origin, destination, free, mid = _crossing_case(router, with_zones)
    flammables_only = zone(
        "rs-3", mid[0] - 0.002, mid[1] - 0.002, mid[0] + 0.002, mid[1] + 0.002, applies_to={"hazard_classes": ["3"]}
    )
    ammonia = with_zones(flammables_only).plan(request(origin, destination, un="UN1005", hazard_class="2.3"))
    assert ammonia.geometry == free.geometry
    petrol = with_zones(flammables_only).plan(request(origin, destination, un="UN1203", hazard_class="3"))
    assert [a.zone_id for a in petrol.avoided] == ["rs-3"]


def test_origin_inside_an_active_zone_gives_no_route_with_the_zone_and_the_earliest_departure(router, with_zones):
    origin, destination, _, _ = _crossing_case(router, with_zones)
    around = zone(
        "rs-origin",
        origin[0] - 0.002,
        origin[1] - 0.002,
        origin[0] + 0.002,
        origin[1] + 0.002,
        windows=[{"start": "07:00", "end": "21:00"}],
    )
    r = with_zones(around).plan(request(origin, destination, at=DAY))
    assert r.status == "no_permitted_route"
    assert [b.zone_id for b in r.blocked_by] == ["rs-origin"]
    assert "rs-origin" in r.reason_en
    assert r.earliest_departure_at is not None
    assert r.earliest_departure_at.isoformat() == "2026-11-26T21:00:00+08:00"
    assert with_zones(around).plan(request(origin, destination, at="2026-11-26T21:00:00+08:00")).status == "ok"


def test_an_always_active_zone_around_the_origin_has_no_earliest_departure(router, with_zones):
    origin, destination, _, _ = _crossing_case(router, with_zones)
    around = zone(
        "ws-origin", origin[0] - 0.002, origin[1] - 0.002, origin[0] + 0.002, origin[1] + 0.002, kind="water_source"
    )
    r = with_zones(around).plan(request(origin, destination))
    assert r.status == "no_permitted_route"
    assert r.earliest_departure_at is None


def _route_edges(router: Router, r) -> list[int]:
    line = LineString(r.geometry.coordinates)
    return [i for i, g in enumerate(router.net.lonlat) if line.buffer(1e-7).contains(g)]


def test_tunnel_categories_against_tunnel_codes(router, with_zones):
    with_zones()
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = router.plan(request(origin, destination))
    edges = _route_edges(router, free)
    assert edges
    middle = max(edges, key=lambda i: router.net.length[i])  # a long edge of the route becomes a category-C tunnel
    saved = router.net.data[middle].get("tunnel_cat")
    router.net.data[middle]["tunnel_cat"] = "C"
    router.refresh_restrictions()
    try:
        for code, passes in (("B", False), ("C", False), ("D", True), ("E", True)):
            load = Load(classes=frozenset({"2.3"}), un_numbers=frozenset({"UN1005"}), tunnel_code=code)
            r = router.plan(request(origin, destination), load=load)
            assert r.status == "ok"
            assert (r.geometry == free.geometry) is passes, code
            assert any(a.kind == "tunnel" for a in r.avoided) is (not passes)
    finally:
        router.net.data[middle]["tunnel_cat"] = saved
        router.refresh_restrictions()


def test_untagged_tunnels_follow_the_city_policy(router, with_zones):
    with_zones()
    tunnels = [i for i, d in enumerate(router.net.data) if d.get("tunnel_cat") == "untagged"]
    assert tunnels, "the Chengdu extract has untagged road tunnels (红星路隧道)"
    i = tunnels[0]
    a, b = node_lonlat(router, router.net.tail[i]), node_lonlat(router, router.net.head[i])
    load = Load(classes=frozenset({"3"}), un_numbers=frozenset({"UN1203"}), tunnel_code="E")
    city_rules = router.road_rules
    try:
        router.road_rules = CityRoadRules(untagged_tunnel_forbidden=False)
        allowed = router.plan(request(a, b), load=load)
        router.road_rules = CityRoadRules(untagged_tunnel_forbidden=True)
        forbidden = router.plan(request(a, b), load=load)
    finally:
        router.road_rules = city_rules
        router.refresh_restrictions()
    assert allowed.status == "ok"
    assert allowed.avoided == []
    assert forbidden.status in ("ok", "no_permitted_route")
    assert forbidden.geometry != allowed.geometry
    if forbidden.status == "ok":
        assert any(x.kind == "tunnel" for x in forbidden.avoided)


def test_outside_the_map(router, with_zones):
    with_zones()
    r = router.plan(request((100.0, 30.0), node_lonlat(router, 5)))
    assert r.status == "outside_map"
    assert "origin" in r.reason_en


def test_the_recheck_catches_a_route_through_a_zone(router, with_zones):
    origin, destination, _free, mid = _crossing_case(router, with_zones)
    blocking = box_zone("rs-mid", mid, 0.002)
    r = with_zones(blocking)
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    starts, stops = r.snap(*origin, load).starts(r.net), r.snap(*destination, load).stops(r.net)
    found = tdsearch.search(r.net, starts, stops, 0, r.net.time, lambda _i, _t: False)  # ignores zones
    with pytest.raises(RouteViolation, match="route enters zone rs-mid"):
        r.recheck(found, load, datetime.fromisoformat(DAY))


def test_the_recheck_lets_a_route_through_a_zone_outside_its_window(router, with_zones):
    origin, destination, _free, mid = _crossing_case(router, with_zones)
    evening = [{"start": "19:00", "end": "21:00"}]
    later = box_zone("rs-eve", mid, 0.002, windows=evening)
    r = with_zones(later)
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    starts, stops = r.snap(*origin, load).starts(r.net), r.snap(*destination, load).stops(r.net)
    found = tdsearch.search(r.net, starts, stops, 0, r.net.time, lambda _i, _t: False)
    r.recheck(found, load, datetime.fromisoformat(DAY))  # 10:00: the zone sleeps, nothing to report
    with pytest.raises(RouteViolation, match="route enters zone rs-eve"):
        r.recheck(found, load, datetime.fromisoformat("2026-11-26T19:30:00+08:00"))


def test_the_recheck_catches_a_closed_road(router):
    load = Load.of(request((0, 0), (0, 0)).load, router.city.rules.tunnel_codes)
    closed = sorted(router._static_blocked(load))
    assert closed, "the Chengdu extract has tunnels this load may not use"
    with pytest.raises(RouteViolation, match=f"closed road on edge {closed[0]}"):
        router.recheck(router.net.path([closed[0]]), load, datetime.fromisoformat(DAY))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_geojson_and_map_are_valid(router, with_zones):
    origin, destination, _, mid = _crossing_case(router, with_zones)
    blocking = box_zone("rs-mid", mid, 0.002, name="中段限行")
    r = with_zones(blocking).plan(request(origin, destination))
    doc = json.loads(json.dumps(geojson(r, router)))
    assert doc["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds == ["route", "restricted"]
    assert doc["features"][0]["geometry"]["type"] == "LineString"
    assert doc["features"][1]["properties"]["avoided"] is True
    for f in doc["features"]:
        assert shape(f["geometry"]).is_valid
    page = html_map(r, router)
    parser = _Tags()
    parser.feed(page)
    assert {"svg", "path", "ul", "footer"} <= set(parser.tags)
    assert 'id="route"' in page
    assert 'data-zone="rs-mid"' in page
    assert "© OpenStreetMap contributors" in page


@pytest.mark.parametrize("kind", ["time", "distance"])
def test_the_contraction_hierarchy_and_the_reference_search_agree(router, with_zones, kind):
    """Both searches of the router, from and to snapped points (mid-edge), on random always-active zones."""
    rng = random.Random(7)
    cost = (lambda p: p.duration_s) if kind == "time" else (lambda p: p.length_m)
    for _ in range(20):
        _o, _d, origin, destination, zones, _shapes = random_case(router, rng, jitter=0.0008)
        r = with_zones(*zones)
        load = Load.of(request(origin, destination).load, r.city.rules.tunnel_codes)
        depart = datetime.fromisoformat(DAY)
        snaps = r.snap(*origin, load), r.snap(*destination, load)
        fast = r._fast(*snaps, depart, load, kind)
        slow = r._timed(*snaps, depart, load, kind)
        assert (not isinstance(fast, Path)) == (slow is None)
        if slow is not None:
            assert cost(fast) == pytest.approx(cost(slow), abs=0.05)


@pytest.mark.parametrize("kind", ["time", "distance"])
def test_the_potentials_bound_the_remaining_cost_and_keep_the_search_optimal(router, with_zones, kind):
    """A* on the reversed-graph potentials finds what plain Dijkstra finds, on random zones, in fewer steps."""
    rng = random.Random(23)
    weight = router.net.time if kind == "time" else router.net.length
    looked_at = {"plain": 0, "guided": 0}

    def counting(blocked, which):
        def count(i: int, t: float) -> bool:
            looked_at[which] += 1
            return blocked(i, t)

        return count

    for _ in range(15):
        o, d, origin, destination, zones, _shapes = random_case(router, rng)
        r = with_zones(*zones)
        load = Load.of(request(origin, destination).load, r.city.rules.tunnel_codes)
        depart = datetime.fromisoformat(DAY).timestamp()
        bound = r.metrics.potentials([(d, 0.0)], kind)
        free = tdsearch.search(r.net, [End(o)], [End(d)], depart, weight, lambda _i, _t: False)
        assert free is not None
        assert bound[o] <= (free.duration_s if kind == "time" else free.length_m) + 1e-9  # a lower bound
        assert bound[d] == 0
        plain = tdsearch.search(r.net, [End(o)], [End(d)], depart, weight, counting(r._blocker(load), "plain"))
        guided = tdsearch.search(r.net, [End(o)], [End(d)], depart, weight, counting(r._blocker(load), "guided"), bound)
        assert (plain is None) == (guided is None)
        if plain is not None:
            cost = (lambda s: s.duration_s) if kind == "time" else (lambda s: s.length_m)
            assert cost(guided) == pytest.approx(cost(plain), abs=1e-6)
    assert looked_at["guided"] < looked_at["plain"] / 2, looked_at  # edges examined


def test_a_zone_that_opens_during_the_trip_is_respected_when_the_vehicle_gets_there(router, with_zones):
    origin, destination, free, _ = _crossing_case(router, with_zones)
    coords = free.geometry.coordinates
    late = coords[int(len(coords) * 0.8)]  # a point near the end of the free route
    window = [{"start": "07:00", "end": "21:00"}]
    closing = box_zone("rs-late", late, 0.0015, windows=window)
    assert not shape(closing.geometry.model_dump()).intersects(Point(destination))
    depart = datetime.fromisoformat("2026-11-26T07:00:00+08:00") - timedelta(seconds=free.duration_s * 0.5)
    r = with_zones(closing).plan(request(origin, destination, at=depart.isoformat()))
    assert r.status == "ok"
    assert not shape(closing.geometry.model_dump()).intersects(LineString(r.geometry.coordinates))
    assert [a.zone_id for a in r.avoided] == ["rs-late"]


def test_an_osm_reservoir_becomes_a_water_source_zone(router):
    ids = [z.id for z in router.zones]
    assert "osm-way-227338532" in ids  # landuse=reservoir in the Chengdu extract
    z = ids.index("osm-way-227338532")
    assert router.zones[z].kind == "water_source"
    assert router.zones[z].buffer_m == router.city.settings.water_source_buffer_m
    edge = router.zone_edges[z][0]
    r = router.plan(request(node_lonlat(router, router.net.tail[edge]), node_lonlat(router, 0)))
    named = [a.zone_id for a in r.avoided + r.blocked_by]
    assert "osm-way-227338532" in named
    if r.status == "ok":
        reservoir = router.projection.to_metric(router.zones[z].lonlat).buffer(router.zones[z].buffer_m)
        assert not reservoir.intersects(router.projection.to_metric(LineString(r.geometry.coordinates)))
