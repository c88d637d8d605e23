"""Police passes in the router (routing.md item 6): a valid pass opens its zones to its plate, along its route."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import LineString, Point, shape

from hazmat.events import Pass, decode
from hazmat.passes import PassBook
from hazmat.routing import tdsearch
from hazmat.routing.policy import Load
from hazmat.routing.router import Router, RouteViolation
from tests.routing.reference import Reference
from tests.routing.test_designated import _another_way, _area, _lines, _open_part, _strays
from tests.routing.test_router import DAY, node_lonlat
from tests.routing_helpers import request, road, zone

PLATE, OTHER = "川A12345", "川A54321"


def a_pass(pass_id: str, zone_ids: list[str], *, plate: str = PLATE, start: str = "2026-11-26T00:00:00+08:00",
           until: str = "2026-11-27T00:00:00+08:00", route: list | None = None) -> Pass:  # fmt: skip
    body: dict[str, Any] = {
        "schema_version": 1, "pass_id": pass_id, "plate": plate, "zone_ids": zone_ids,
        "valid_from": start, "valid_until": until,
        "route": None if route is None else {"type": "LineString", "coordinates": [list(c) for c in route]},
        "issued_by": "哈尔滨市公安局交通警察支队", "reason": "test",
    }  # fmt: skip
    return decode(Pass, json.dumps(body, ensure_ascii=False))


@pytest.fixture
def crossing(router, with_zones):
    """A free route and a restricted square over its middle (so the zone really is in the way)."""
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = with_zones().plan(request(origin, destination))
    assert free.status == "ok"
    coords = free.geometry.coordinates
    mid = coords[int(len(coords) * 0.7)]
    blocking = zone("rs-mid", mid[0] - 0.002, mid[1] - 0.002, mid[0] + 0.002, mid[1] + 0.002, name="中段限行")
    return origin, destination, free, mid, blocking


def test_a_pass_opens_a_restricted_zone_to_its_plate_only(router, with_zones, crossing):
    origin, destination, free, _mid, blocking = crossing
    r = with_zones(blocking)
    passes = [a_pass("P-1", ["rs-mid"])]
    opened = r.plan(request(origin, destination, plate=PLATE), passes=passes)
    assert opened.status == "ok"
    assert opened.geometry == free.geometry
    assert opened.avoided == []
    assert opened.passes_used == ["P-1"]
    other = r.plan(request(origin, destination, plate=OTHER), passes=passes)  # another vehicle's route
    assert other.geometry != free.geometry
    assert [a.zone_id for a in other.avoided] == ["rs-mid"]
    assert other.passes_used == []
    # the router's own book serves when no passes are given (hazmat route: passes.yaml)
    r.passes = PassBook(passes)
    try:
        assert r.plan(request(origin, destination, plate=PLATE)).passes_used == ["P-1"]
    finally:
        r.passes = PassBook()


def test_a_pass_with_a_route_opens_the_zone_only_along_it(router, with_zones, crossing):
    """The zone opens within match_m of the pass's route: the route keeps to it inside, optimal by the reference."""
    origin, destination, free, mid, blocking = crossing
    way = _another_way(router, free.geometry.coordinates, mid)
    assert way is not None
    assert way.length > 0
    pass_route = max(getattr(way, "geoms", [way]), key=lambda g: g.length)
    passes = [a_pass("P-route", ["rs-mid"], route=list(pass_route.coords))]
    r = with_zones(blocking)
    found = r.plan(request(origin, destination, plate=PLATE), passes=passes)
    assert found.status == "ok", found.reason_en
    assert _strays(router, found, blocking, pass_route) == pytest.approx(0, abs=1e-6)
    square = router.projection.to_metric(shape(blocking.geometry.model_dump()))
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    reference = Reference(
        router.graph, router.projection, load, router.road_rules, areas=[(square, _open_part(router, pass_route))]
    )
    assert found.duration_s == pytest.approx(reference.route_cost(origin, destination), abs=0.05)
    line = router.projection.to_metric(LineString(found.geometry.coordinates))
    assert line.intersection(square).length > 10  # it uses the opening
    assert found.passes_used == ["P-route"]
    assert [a.zone_id for a in found.avoided] == ["rs-mid"]  # the free route crosses the zone off the pass's route
    without = r.plan(request(origin, destination, plate=PLATE))
    assert not router.projection.to_metric(LineString(without.geometry.coordinates)).intersects(square)
    assert without.duration_s > found.duration_s
    # a pass along the free route itself: the free route
    along = [a_pass("P-free", ["rs-mid"], route=free.geometry.coordinates)]
    assert r.plan(request(origin, destination, plate=PLATE), passes=along).geometry == free.geometry


def test_a_pass_route_adds_to_a_designated_areas_roads(router, with_zones, crossing):
    origin, destination, free, mid, _blocking = crossing
    way = _another_way(router, free.geometry.coordinates, mid)
    area = _area("da-mid", mid, half=0.003)
    r = with_zones(area, road("dr", "da-mid", _lines(way)))
    kept = r.plan(request(origin, destination, plate=PLATE))
    assert [a.zone_id for a in kept.avoided] == ["da-mid"]
    opened = r.plan(
        request(origin, destination, plate=PLATE), passes=[a_pass("P", ["da-mid"], route=free.geometry.coordinates)]
    )
    assert opened.geometry == free.geometry
    assert opened.avoided == []
    assert opened.passes_used == ["P"]


def test_a_pass_that_expires_mid_trip_closes_the_zone_from_then_on(router, with_zones, crossing):
    """Valid at departure, expired before the vehicle reaches the zone: as a window that starts then."""
    origin, destination, free, _mid, blocking = crossing
    r = with_zones(blocking)
    depart = datetime.fromisoformat(DAY)
    square = shape(blocking.geometry.model_dump())
    coords = free.geometry.coordinates
    first_inside = next(k for k, c in enumerate(coords) if square.intersects(Point(c)))
    reach_s = free.duration_s * LineString(coords[: first_inside + 1]).length / LineString(coords).length
    early = (depart + timedelta(seconds=reach_s * 0.3)).isoformat()
    expiring = [a_pass("P-short", ["rs-mid"], start=(depart - timedelta(hours=1)).isoformat(), until=early)]
    searches = []
    search = tdsearch.search

    def counted(*args, **kwargs):
        searches.append(1)
        return search(*args, **kwargs)

    tdsearch.search = counted  # type: ignore[assignment]  # counted for this test only
    try:
        found = r.plan(request(origin, destination, at=DAY, plate=PLATE), passes=expiring)
    finally:
        tdsearch.search = search
    assert searches, "a pass ending during the trip needs the time-dependent search"
    assert found.status == "ok"
    assert not square.intersects(LineString(found.geometry.coordinates))
    assert [a.zone_id for a in found.avoided] == ["rs-mid"]
    assert found.passes_used == []
    # valid until well after the trip: the pass serves the whole way
    lasting = [a_pass("P-long", ["rs-mid"], until=(depart + timedelta(hours=3)).isoformat())]
    assert r.plan(request(origin, destination, at=DAY, plate=PLATE), passes=lasting).geometry == free.geometry


def test_a_pass_that_starts_mid_trip_opens_the_zone_when_the_vehicle_gets_there(router, with_zones, crossing):
    origin, destination, free, _mid, blocking = crossing
    r = with_zones(blocking)
    depart = datetime.fromisoformat(DAY)
    soon = [a_pass("P-soon", ["rs-mid"], start=(depart + timedelta(seconds=10)).isoformat())]
    found = r.plan(request(origin, destination, at=DAY, plate=PLATE), passes=soon)
    assert found.geometry == free.geometry  # the vehicle reaches the zone later than 10 s after departure
    assert found.passes_used == ["P-soon"]


def test_a_pass_starting_later_is_the_earliest_departure(router, with_zones, crossing):
    origin, destination, _free, _mid, _blocking = crossing
    around = zone("rs-origin", origin[0] - 0.002, origin[1] - 0.002, origin[0] + 0.002, origin[1] + 0.002)
    r = with_zones(around)
    noon = [a_pass("P-noon", ["rs-origin"], start="2026-11-26T12:00:00+08:00")]
    refused = r.plan(request(origin, destination, at=DAY, plate=PLATE), passes=noon)
    assert refused.status == "no_permitted_route"
    assert refused.earliest_departure_at.isoformat() == "2026-11-26T12:00:00+08:00"
    later = r.plan(request(origin, destination, at="2026-11-26T12:00:00+08:00", plate=PLATE), passes=noon)
    assert later.status == "ok"
    assert later.passes_used == ["P-noon"]  # the origin lies in the zone it opens


def test_a_revoked_pass_opens_nothing(router, with_zones, crossing):
    origin, destination, free, _mid, blocking = crossing
    r = with_zones(blocking)
    book = PassBook([a_pass("P-1", ["rs-mid"])])
    assert r.plan(request(origin, destination, plate=PLATE), passes=book.for_plate(PLATE)).geometry == free.geometry
    assert book.revoke("P-1") is not None
    assert book.for_plate(PLATE) == ()
    assert r.plan(request(origin, destination, plate=PLATE), passes=book.for_plate(PLATE)).geometry != free.geometry


def test_no_pass_opens_a_water_source_even_if_it_names_one(router, with_zones, crossing):
    """Passes naming a water source are refused when issued; should one reach the router, it opens nothing."""
    origin, destination, free, mid, _blocking = crossing
    water = zone("ws-mid", mid[0] - 0.002, mid[1] - 0.002, mid[0] + 0.002, mid[1] + 0.002, kind="water_source")
    r = with_zones(water)
    found = r.plan(request(origin, destination, plate=PLATE), passes=[a_pass("P-bad", ["ws-mid"])])
    assert found.geometry != free.geometry
    assert [a.zone_id for a in found.avoided] == ["ws-mid"]
    assert found.passes_used == []
    # and the re-check refuses a route through it, pass or not
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    starts, stops = r.snap(*origin, load).starts(r.net), r.snap(*destination, load).stops(r.net)
    through = tdsearch.search(r.net, starts, stops, 0, r.net.time, lambda _i, _t: False)
    with pytest.raises(RouteViolation, match="enters zone ws-mid"):
        r.recheck(through, load, datetime.fromisoformat(DAY), [a_pass("P-bad", ["ws-mid"])], PLATE)


def test_the_recheck_accepts_a_pass_and_refuses_it_after_its_end(router, with_zones, crossing):
    origin, destination, _free, _mid, blocking = crossing
    r = with_zones(blocking)
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    starts, stops = r.snap(*origin, load).starts(r.net), r.snap(*destination, load).stops(r.net)
    through = tdsearch.search(r.net, starts, stops, 0, r.net.time, lambda _i, _t: False)
    day = datetime.fromisoformat(DAY)
    r.recheck(through, load, day, [a_pass("P-1", ["rs-mid"])], PLATE)  # opened: fine
    with pytest.raises(RouteViolation, match="enters zone rs-mid"):
        r.recheck(through, load, day, [a_pass("P-1", ["rs-mid"])], OTHER)  # not this vehicle's
    with pytest.raises(RouteViolation, match="enters zone rs-mid"):
        r.recheck(through, load, day, [a_pass("P-1", ["rs-mid"], until=DAY)], PLATE)  # ended at departure


def test_equivalent_passes_share_one_metric(router, with_zones, crossing):
    """Metrics are keyed by what is closed, not by pass: two plates with passes along one route share one."""
    origin, destination, free, mid, blocking = crossing
    beside = zone("rs-other", mid[0] + 0.004, mid[1] - 0.002, mid[0] + 0.008, mid[1] + 0.002)
    r = with_zones(blocking, beside)
    load = Load.of(request(origin, destination).load, router.city.rules.tunnel_codes)
    snaps = r.snap(*origin, load), r.snap(*destination, load)
    depart = datetime.fromisoformat(DAY)
    route = free.geometry.coordinates
    first = r.openings(PLATE, [a_pass("P-a", ["rs-mid"], route=route)])
    second = r.openings(OTHER, [a_pass("P-b", ["rs-mid"], plate=OTHER, route=route)])
    r._fast(*snaps, depart, load, "time", first)
    kept = len(r.metrics._metrics)
    r._fast(*snaps, depart, load, "time", second)
    assert len(r.metrics._metrics) == kept
    r._fast(*snaps, depart, load, "time", r.openings(PLATE, [a_pass("P-c", ["rs-mid"])]))  # wholly open: another
    assert len(r.metrics._metrics) == kept + 1


def test_the_passes_used_are_only_those_the_route_needs(router: Router, with_zones, crossing):
    origin, destination, free, _mid, blocking = crossing
    far = zone("rs-far", 104.20, 30.60, 104.21, 30.61)
    r = with_zones(blocking, far)
    passes = [a_pass("P-mid", ["rs-mid"]), a_pass("P-far", ["rs-far"])]
    found = r.plan(request(origin, destination, plate=PLATE), passes=passes)
    assert found.geometry == free.geometry
    assert found.passes_used == ["P-mid"]
