"""A metric moved between states by partial customisation answers as a metric customised in full (issue #18).

The pool of a load class re-customises only the arcs whose weight differs between two
states (zones closed, passes); these tests compare it, on the Chengdu graph, with full
customisations of the same weights: distance tables and whole route answers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np
import pytest

from hazmat.routing import _cch
from hazmat.routing.metrics import INF, PARTIAL_SHARE, Metrics
from hazmat.routing.policy import Load
from tests.routing.test_passes import PLATE, a_pass
from tests.routing.test_router import DAY, node_lonlat
from tests.routing_helpers import box_zone, request


def _zone_arcs(router, rng: random.Random) -> frozenset[int]:
    """The arcs of a zone-like square around a random node (what a zone closes: a compact patch)."""
    x, y = router.net.node_xy[rng.randrange(len(router.net.node_ids))]
    half = rng.uniform(150, 600)
    bounds = router.net.projected_bounds
    inside = (
        (bounds[:, 0] < x + half) & (bounds[:, 2] > x - half) & (bounds[:, 1] < y + half) & (bounds[:, 3] > y - half)
    )
    return frozenset(np.flatnonzero(inside).tolist())


def test_a_pool_moved_by_partial_customisation_gives_the_distances_of_a_full_one(router):
    """Random states (1–3 zone patches, on two load classes) through a pool of two metrics per class."""
    rng = random.Random(18)
    metrics = Metrics(router.net, variants=2)
    metrics.partial_share = 1.0  # partial however many arcs change (this small graph's patches are large)
    weights = metrics._weights["time"]
    tunnels = frozenset(rng.sample(range(len(weights)), 40))  # a load class: arcs the map closes
    patches = [_zone_arcs(router, rng) for _ in range(6)]
    nodes = np.array(rng.sample(range(len(router.net.node_ids)), 30), dtype=np.uint32)
    for _ in range(14):
        klass = rng.choice([frozenset(), tunnels])
        chosen = tuple(sorted(rng.sample(range(len(patches)), rng.randint(1, 3))))
        closed = frozenset().union(*(patches[k] for k in chosen))
        metric = metrics.get("time", klass, chosen, lambda closed=closed: closed)
        full = weights.copy()
        full[list(klass | closed)] = INF
        reference = _cch.Metric(metrics._cch)
        reference.customize(full)
        got = metric.distances_many_to_many(nodes, nodes)
        assert (got == reference.distances_many_to_many(nodes, nodes)).all()
        assert (got < INF).any()
    assert metrics.counts["partial"] >= 8  # the pools were recycled, not customised anew
    assert metrics.counts["arcs"] > 0
    assert len(metrics) <= 4


@pytest.fixture
def scene(router, with_zones):
    """Five zones over the centre, two with day windows, and a pass opening one of them wholly."""
    rng = random.Random(1118)
    features = []
    for k in range(5):
        centre = node_lonlat(router, rng.randrange(len(router.net.node_ids)))
        windows = [{"start": "07:00", "end": "21:00"}] if k < 2 else None
        features.append(box_zone(f"pz{k}", centre, rng.uniform(0.0015, 0.003), windows=windows))
    return with_zones(*features), rng


def test_routes_through_a_recycled_pool_equal_routes_from_full_customisations(scene):
    """Random pairs, departures by day and by night (windowed zones toggled), with and without a pass:
    the answers of a one-metric pool moved partially, in another order, equal those of full customisations."""
    r, rng = scene
    passes = [a_pass("P-part", ["pz2"])]
    night = (datetime.fromisoformat(DAY) + timedelta(hours=13)).isoformat()
    load = Load.of(request((0, 0), (0, 0)).load, r.city.rules.tunnel_codes)
    asked = []
    for _ in range(24):
        o, d = rng.sample(range(len(r.net.node_ids)), 2)
        at = rng.choice([DAY, night])
        asked.append((request(node_lonlat(r, o), node_lonlat(r, d), at=at, plate=PLATE), rng.choice([[], passes])))
    r.metrics.variants = 1  # one metric per class: every other state re-customises it
    try:
        r.metrics.partial_share = 0.0  # every state change customises in full
        full = [r.plan(q, load=load, passes=held) for q, held in asked]
        r.metrics.partial_share = 1.0  # every state change is partial
        before = r.metrics.counts["partial"]
        order = list(range(len(asked)))
        rng.shuffle(order)
        partial = {k: r.plan(asked[k][0], load=load, passes=asked[k][1]) for k in order}
        moved = r.metrics.counts["partial"] - before
    finally:
        r.metrics.variants, r.metrics.partial_share = 4, PARTIAL_SHARE
    for k, expected in enumerate(full):
        got = partial[k]
        assert got.status == expected.status
        assert got.geometry == expected.geometry
        assert (got.length_m, got.duration_s) == (expected.length_m, expected.duration_s)
        assert got.avoided == expected.avoided
        assert got.passes_used == expected.passes_used
    assert sum(f.status == "ok" and bool(f.avoided) for f in full) >= 8  # routes the zones really changed
    assert moved >= 6  # and partial customisations answered them


def test_a_new_state_during_a_background_growth_neither_waits_for_it_nor_is_left_far_from_it(router):
    """A province's pool grows in a background thread (a full customisation takes seconds there). A state
    asked while that growth runs is answered by a partial move of a held metric without waiting for the
    growth (held here until the request returned: a request that waited would have timed the gate out),
    with the distances of a full customisation; and the grown spare is customised to the state being
    served, so the next state moves it by the few arcs that changed, not by every closed zone's arcs
    (a spare at the base took a full customisation inside a request at a million nodes)."""
    import threading

    rng = random.Random(1818)
    metrics = Metrics(router.net, variants=3)
    metrics.background = True  # as on a province's graph, on this small one
    metrics.partial_share = 0.5
    metrics.grow_quiet_s = 0.05  # the pool grows after this long without a new state
    weights = metrics._weights["time"]
    klass = frozenset(rng.sample(range(len(weights)), 40))
    patches = [_zone_arcs(router, rng) for _ in range(5)]
    nodes = np.array(rng.sample(range(len(router.net.node_ids)), 30), dtype=np.uint32)
    metrics.warm([("time", klass)])  # one spare at the base, as at a worker start
    growing, release, waited_out = threading.Event(), threading.Event(), []
    fresh = metrics._fresh  # the growth's new metric (a copy of a held one, moved)

    def gated(*args, **kwargs):
        if threading.current_thread().name == "cch-customise":
            growing.set()
            if not release.wait(20):
                waited_out.append(True)  # nobody released it: the request was waiting for the growth
        return fresh(*args, **kwargs)

    metrics._fresh = gated

    def state(*chosen: int) -> tuple[tuple[int, ...], frozenset[int]]:
        return chosen, frozenset().union(*(patches[k] for k in chosen))

    def check(metric, closed: frozenset[int]) -> None:
        full = weights.copy()
        full[list(klass | closed)] = INF
        reference = _cch.Metric(metrics._cch)
        reference.customize(full)
        assert (metric.distances_many_to_many(nodes, nodes) == reference.distances_many_to_many(nodes, nodes)).all()

    a, b, c = state(0, 1, 2), state(0, 1, 3), state(0, 1, 4)
    check(metrics.get("time", klass, a[0], lambda: a[1]), a[1])  # the spare moved to a
    metric = metrics.get("time", klass, b[0], lambda: b[1])  # the pool grows meanwhile
    assert growing.wait(20)
    assert metrics._growing  # answered while the growth is held
    assert not release.is_set()
    check(metric, b[1])
    release.set()
    assert metrics.settle(60)
    assert not waited_out
    (spare,) = metrics._classes[("time", klass)].spares
    assert set(spare.closed.tolist()) == b[1] - klass  # grown in the state served, not at the base
    before = dict(metrics.counts)
    check(metrics.get("time", klass, c[0], lambda: c[1]), c[1])
    assert metrics.counts["full"] == before["full"]
    assert metrics.counts["arcs"] - before["arcs"] == len((b[1] ^ c[1]) - klass)  # only what changed
