"""A zone that switches during the trip but out of the route's reach leaves the fast answer exact (issue #18).

At province scale a long trip crosses the start or end of some zone's window almost always,
somewhere; the time-dependent search is needed only for zones a route at most as costly as the
fast answer could meet. These tests check that the fast answer then equals the time-dependent
search's, and that a zone within reach still hands the request to it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from shapely.geometry import LineString

from hazmat.routing.network import Path
from hazmat.routing.policy import Load
from hazmat.routing.router import ZoneSwitches
from tests.routing.test_router import DAY, node_lonlat
from tests.routing_helpers import box_zone, request

SOON = (datetime.fromisoformat(DAY) + timedelta(minutes=3)).strftime("%H:%M")


def _far_corner(r, origin, destination):
    """The node farthest from both ends (another corner of the map)."""
    o, d = r.projection.point(*origin), r.projection.point(*destination)
    xy = r.net.node_xy
    far = ((xy[:, 0] - o[0]) ** 2 + (xy[:, 1] - o[1]) ** 2) ** 0.5 + (
        (xy[:, 0] - d[0]) ** 2 + (xy[:, 1] - d[1]) ** 2
    ) ** 0.5
    return node_lonlat(r, int(far.argmax()))


@pytest.mark.parametrize("optimize", ["time", "distance"])
def test_a_far_zone_switching_on_during_the_trip_leaves_the_fast_answer_which_is_exact(router, with_zones, optimize):
    rng = random.Random(18)
    checked = 0
    for _ in range(12):
        o, d = rng.sample(range(len(router.net.node_ids)), 2)
        origin, destination = node_lonlat(router, o), node_lonlat(router, d)
        if LineString([origin, destination]).length > 0.02:  # a short trip in a corner of the map
            continue
        far = box_zone(
            "rs-far", _far_corner(router, origin, destination), 0.002, windows=[{"start": SOON, "end": "23:00"}]
        )
        r = with_zones(far)
        load = Load.of(request(origin, destination).load, r.city.rules.tunnel_codes)
        snaps = r.snap(*origin, load), r.snap(*destination, load)
        depart = datetime.fromisoformat(DAY)
        fast = r._fast(*snaps, depart, load, optimize)
        assert isinstance(fast, Path)  # not handed to the time-dependent search
        timed = r._timed(*snaps, depart, load, optimize)
        assert timed is not None
        assert (fast.length_m, fast.duration_s) == pytest.approx((timed.length_m, timed.duration_s), abs=1e-6)
        checked += 1
    assert checked >= 3


def test_a_zone_within_reach_switching_on_during_the_trip_still_needs_the_time_dependent_search(router, with_zones):
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = with_zones().plan(request(origin, destination))
    mid = free.geometry.coordinates[len(free.geometry.coordinates) // 2]
    near = box_zone("rs-near", mid, 0.002, windows=[{"start": SOON, "end": "23:00"}])
    r = with_zones(near)
    load = Load.of(request(origin, destination).load, r.city.rules.tunnel_codes)
    snaps = r.snap(*origin, load), r.snap(*destination, load)
    assert isinstance(r._fast(*snaps, datetime.fromisoformat(DAY), load, "time"), ZoneSwitches)
