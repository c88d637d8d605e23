"""Metrics ahead of need (issue #18): a state prepared before it is asked costs its request no customisation, and a
state that closes more than a held metric is answered from that metric only when that is exact.

On the Chengdu graph: :meth:`Router.prepare` (zone windows), :meth:`Router.prepare_passes` (a pass
arriving), :meth:`Metrics.prepare` (what is evicted), and :class:`Provisional` (the answer from a
metric closing a subset of the arcs) against full customisations of the same weights.
"""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np
import pytest
from shapely.geometry import LineString, shape

from hazmat.routing import _cch
from hazmat.routing.metrics import INF, Metrics, Provisional
from tests.routing.test_partial_customisation import _zone_arcs
from tests.routing.test_passes import PLATE, a_pass
from tests.routing.test_router import node_lonlat
from tests.routing_helpers import box_zone, request

BEFORE, PREPARED_AT, AFTER = "2026-11-26T06:50:00+08:00", "2026-11-26T06:58:00+08:00", "2026-11-26T07:01:00+08:00"
WINDOW = [{"start": "07:00", "end": "21:00"}]


def _reference(metrics: Metrics, klass: frozenset[int], closed: frozenset[int]):
    """The class's weights with ``closed`` infinite, customised in full (what a moved metric must equal)."""
    weights = metrics._weights["time"].copy()
    weights[list(klass | closed)] = INF
    reference = _cch.Metric(metrics._cch)
    reference.customize(weights)
    return reference


def _counts(metrics: Metrics) -> dict[str, int]:
    return dict(metrics.counts)


def test_a_state_prepared_ahead_is_answered_without_customisation_and_prepared_states_are_not_evicted(router):
    """A pool of three: the state in use, then two states prepared ahead (moved in the background, the distances
    of full customisations); a third prepared state finds every other metric in use or reserved and is
    not prepared (nothing evicted); asking a prepared state customises nothing."""
    rng = random.Random(2018)
    metrics = Metrics(router.net, variants=3)
    metrics.partial_share = 1.0  # the small graph's patches are large: partial anyway
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    patches = [_zone_arcs(router, rng) for _ in range(4)]
    nodes = np.array(rng.sample(range(len(router.net.node_ids)), 30), dtype=np.uint32)
    metrics.warm([("time", klass)])
    assert not metrics.prepare("time", frozenset({1, 2}), "x", frozenset)  # a class not in use: not prepared
    metrics.get("time", klass, "now", lambda: patches[0])  # the state in use
    assert metrics.prepare("time", klass, "next", lambda: patches[0] | patches[1], reserved_until=2e9)
    assert metrics.settle(60)
    assert metrics.prepare("time", klass, "pass", lambda: patches[2], reserved_until=2e9)
    assert metrics.settle(60)
    assert metrics.ahead["prepared"] == 2
    assert metrics.prepare("time", klass, "later", lambda: patches[3], reserved_until=2e9)  # queued, then refused
    assert metrics.settle(60)
    assert metrics.ahead["prepared"] == 2
    assert {state for _k, _c, state in metrics._metrics} == {"now", "next", "pass"}
    before = _counts(metrics)
    for state, closed in (("next", patches[0] | patches[1]), ("pass", patches[2]), ("now", patches[0])):
        got = metrics.get("time", klass, state, lambda: pytest.fail("a held state needs no closing"))
        assert (
            got.distances_many_to_many(nodes, nodes)
            == _reference(metrics, klass, closed).distances_many_to_many(nodes, nodes)
        ).all()
    assert _counts(metrics) == before
    metrics.get("time", klass, "later", lambda: patches[3])  # asked by a request: it moves one (the LRU "next")
    assert _counts(metrics)["partial"] == before["partial"] + 1


def _scene(router, with_zones):
    """A route across an always-active zone (so the restricted search answers it) and a daytime zone over another
    route's middle: the state changes at 07:00."""
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = with_zones().plan(request(origin, destination))
    assert free.status == "ok"
    coords = free.geometry.coordinates
    always = box_zone("rs-always", coords[len(coords) // 2], 0.002)
    other = (node_lonlat(router, 1624), node_lonlat(router, 1175))
    second = with_zones().plan(request(*other))
    assert second.status == "ok"
    day = box_zone("rs-day", second.geometry.coordinates[len(second.geometry.coordinates) // 2], 0.002, windows=WINDOW)
    return with_zones(always, day), (origin, destination), other, day


def test_the_next_window_state_prepared_by_the_clock_costs_the_first_request_after_the_boundary_nothing(
    router, with_zones
):
    r, across, other, _day = _scene(router, with_zones)
    r.metrics.clear()
    assert r.plan(request(*across, at=BEFORE)).avoided  # the class and its state before 07:00 held
    held = len(r.metrics._metrics)
    assert r.prepare(datetime.fromisoformat(PREPARED_AT), horizon_s=300) == 1
    assert r.metrics.settle(60)
    assert len(r.metrics._metrics) == held + 1
    assert r.metrics.ahead["prepared"] >= 1
    before = _counts(r.metrics)
    got = [r.plan(request(*ends, at=AFTER)) for ends in (other, across)]
    assert _counts(r.metrics) == before  # no customisation in the requests
    assert [a.zone_id for a in got[0].avoided] == ["rs-day"]  # the new state did change the answer
    r.metrics.clear()  # the reference: the same requests from full customisations
    expected = [r.plan(request(*ends, at=AFTER)) for ends in (other, across)]
    assert r.metrics.counts["full"] > before["full"]
    for g, e in zip(got, expected, strict=True):
        assert (g.status, g.duration_s, g.length_m, g.avoided) == (e.status, e.duration_s, e.length_m, e.avoided)


def test_a_pass_prepared_on_arrival_costs_the_plates_next_request_nothing(router, with_zones):
    """Two always-active zones: one across the route, one elsewhere that a pass opens wholly (another state: the
    first zone only). Prepared when the pass arrives, the plate's request with it customises nothing; the
    same for a plate whose pass was not prepared does (the test can fail)."""
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    free = with_zones().plan(request(origin, destination))
    coords = free.geometry.coordinates
    blocking = box_zone("rs-mid", coords[len(coords) // 2], 0.002)
    elsewhere = box_zone("rs-far", node_lonlat(router, 523), 0.002)
    r = with_zones(blocking, elsewhere)
    r.metrics.clear()
    other_plate = "川A99999"
    for plate in (PLATE, other_plate):
        assert r.plan(request(origin, destination, plate=plate)).avoided  # the plates' class in use, no pass
    passes = [a_pass("P-far", ["rs-far"])]
    assert r.prepare_passes(PLATE, passes, datetime.fromisoformat("2026-11-26T09:00:00+08:00")) == 1
    assert r.metrics.settle(60)
    before = _counts(r.metrics)
    found = r.plan(request(origin, destination, plate=PLATE), passes=passes)
    assert _counts(r.metrics) == before
    assert found.status == "ok"
    assert [a.zone_id for a in found.avoided] == ["rs-mid"]
    r.metrics.clear()  # the reference, from full customisations; then the same pass unprepared
    assert r.plan(request(origin, destination, plate=PLATE), passes=passes).duration_s == found.duration_s
    r.metrics.clear()
    r.plan(request(origin, destination, plate=other_plate))
    before = _counts(r.metrics)
    r.plan(request(origin, destination, plate=other_plate), passes=[a_pass("P-far-2", ["rs-far"], plate=other_plate)])
    assert _counts(r.metrics) != before


def test_a_held_metric_closing_a_subset_answers_only_paths_that_drive_no_newly_closed_arc(router):
    """States that each close more than a held one: through :meth:`Metrics.lookup`'s :class:`Provisional`, a path
    of the held metric is taken only when it drives none of the newly closed arcs, and then its distance is
    a full customisation's; the others wait for the moved metric, which equals a full customisation."""
    rng = random.Random(1819)
    metrics = Metrics(router.net, variants=3)
    metrics.provisional = True
    metrics.partial_share = 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    patches = [_zone_arcs(router, rng) for _ in range(6)]
    n = len(router.net.node_ids)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(60)]
    metrics.warm([("time", klass)])
    exact = waited = 0
    held = frozenset()
    metrics.get("time", klass, (), lambda: held)
    chosen: tuple[int, ...] = ()
    for k in range(len(patches)):
        chosen = (*chosen, k)
        closed = frozenset().union(*(patches[j] for j in chosen))
        found = metrics.lookup("time", klass, chosen, lambda closed=closed: closed)
        assert isinstance(found, Provisional)
        newly = set(found.newly.tolist())
        assert newly == (closed - held) - klass
        reference = _reference(metrics, klass, closed)
        for s, t in pairs:
            distance, _nodes, arcs = found.metric.query(s, t)
            if found.exact(arcs):
                assert not newly & set(arcs)
                assert distance == reference.query(s, t)[0]
                exact += 1
            else:
                assert newly & set(arcs)
        moved = found.wait()
        for s, t in pairs:
            assert moved.query(s, t)[0] == reference.query(s, t)[0]
        waited += 1
        held = closed
    assert exact >= 60  # the shortcut did answer
    assert waited == len(patches)
    assert metrics.ahead["provisional"] == exact
    assert metrics.settle(60)


def test_the_router_answers_a_zone_coming_into_force_from_the_held_metric_only_when_exact(router, with_zones):
    """With the province's shortcut on: at 07:01 the daytime zone's state is not held; a request whose path under
    the held state (06:50) avoids the zone is answered from that metric at once, one whose path crosses it
    waits for the move; both equal full customisations' answers, neither drives the zone (the re-check
    would raise)."""
    r, across, other, day = _scene(router, with_zones)
    square = r.projection.to_metric(shape(day.geometry.model_dump()))
    r.metrics.provisional = True
    try:
        got = {}
        for name, ends in (("away", across), ("through", other)):
            r.metrics.clear()
            assert r.plan(request(*across, at=BEFORE)).avoided  # the state before 07:00 held
            before = dict(r.metrics.ahead)
            got[name] = r.plan(request(*ends, at=AFTER))
            assert r.metrics.settle(60)
            moved = {k: r.metrics.ahead[k] - before[k] for k in before}
            assert moved["provisional" if name == "away" else "waited"] == 1, moved
            line = r.projection.to_metric(LineString(got[name].geometry.coordinates))
            assert not line.intersects(square)
    finally:
        r.metrics.provisional = False
    r.metrics.clear()
    for name, ends in (("away", across), ("through", other)):
        expected = r.plan(request(*ends, at=AFTER))
        assert (got[name].duration_s, got[name].length_m, got[name].avoided) == (
            expected.duration_s,
            expected.length_m,
            expected.avoided,
        )


def test_a_pool_of_one_answers_from_its_metric_and_moves_it_once_released(router):
    """After a start a province's class holds one metric: a state closing more than it is answered from it, and the
    same metric is moved to the state once the request let it go (in the background), not customised anew."""
    rng = random.Random(1820)
    metrics = Metrics(router.net, variants=1)  # a pool of one that does not grow: the only metric to move
    metrics.provisional, metrics.background, metrics.partial_share = True, True, 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    first, second = _zone_arcs(router, rng), _zone_arcs(router, rng)
    n = len(router.net.node_ids)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(40)]
    metrics.warm([("time", klass)])
    held = metrics.get("time", klass, "a", lambda: first)
    found = metrics.lookup("time", klass, "b", lambda: first | second)
    assert isinstance(found, Provisional)
    assert found.metric is held
    reference = _reference(metrics, klass, first | second)
    answered = 0
    for s, t in pairs:
        distance, _nodes, arcs = found.metric.query(s, t)
        if found.exact(arcs):
            assert distance == reference.query(s, t)[0]
            answered += 1
    assert answered > 0
    before = _counts(metrics)
    moved = found.wait()  # releases it: the held metric itself is moved to "b"
    assert moved is held
    assert _counts(metrics)["partial"] == before["partial"] + 1
    assert _counts(metrics)["full"] == before["full"]
    assert all(moved.query(s, t)[0] == reference.query(s, t)[0] for s, t in pairs)
    assert metrics.settle(60)


def test_every_boundary_of_a_day_is_prepared_in_turn_as_the_clock_passes(router, with_zones):
    """Zones coming into force hour after hour: the timer's look two minutes before each hour prepares the next
    state every time (a held state it looks at again is not reserved: the pool never runs out of metrics to
    move), so none of the first requests after the hours customises."""
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    coords = with_zones().plan(request(origin, destination)).geometry.coordinates
    always = box_zone("rs-always", coords[len(coords) // 2], 0.002)
    hourly = [
        box_zone(f"rs-{h}", node_lonlat(router, node), 0.001, windows=[{"start": f"{h:02d}:00", "end": "23:00"}])
        for h, node in zip(range(7, 13), (300, 600, 900, 1200, 1400, 1700), strict=True)
    ]
    r = with_zones(always, *hourly)
    r.metrics.clear()
    assert r.plan(request(origin, destination, at="2026-11-26T06:30:00+08:00")).avoided
    prepared = r.metrics.ahead["prepared"]
    for h in range(7, 13):
        for _tick in range(3):  # the timer looks several times before the boundary
            r.prepare(datetime.fromisoformat(f"2026-11-26T{h - 1:02d}:58:00+08:00"), horizon_s=300)
            assert r.metrics.settle(60)
        before = _counts(r.metrics)
        assert r.plan(request(origin, destination, at=f"2026-11-26T{h:02d}:01:00+08:00")).avoided
        assert _counts(r.metrics) == before, h
    assert r.metrics.ahead["prepared"] == prepared + 6


def test_a_leased_metric_is_never_the_one_a_state_prepared_ahead_moves(router):
    """A request's lease on a held state (the pool's only other metric than the one in use): a state prepared
    meanwhile finds nothing it may move and is not prepared; the leased metric still answers its own
    state's distances; once released, the same preparation moves it."""
    rng = random.Random(2026)
    metrics = Metrics(router.net, variants=2)
    metrics.partial_share = 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    patches = [_zone_arcs(router, rng) for _ in range(3)]
    nodes = np.array(rng.sample(range(len(router.net.node_ids)), 30), dtype=np.uint32)
    metrics.warm([("time", klass)])
    metrics.get("time", klass, "a", lambda: patches[0])
    metrics.get("time", klass, "b", lambda: patches[1])  # now two held; "b" in use
    lease = metrics.lease("time", klass, "a", lambda: pytest.fail("held"))  # "a" is read by a request now…
    metrics.get("time", klass, "b", lambda: pytest.fail("held"))  # …while "b" is the state in use again
    assert metrics.prepare("time", klass, "c", lambda: patches[2])
    assert metrics.settle(60)
    assert metrics.ahead["prepared"] == 0  # "a" leased, "b" in use: nothing moved
    expected = _reference(metrics, klass, patches[0]).distances_many_to_many(nodes, nodes)
    assert (lease.metric.distances_many_to_many(nodes, nodes) == expected).all()
    lease.release()
    assert metrics.prepare("time", klass, "c", lambda: patches[2])
    assert metrics.settle(60)
    assert metrics.ahead["prepared"] == 1
    assert {state for _k, _c, state in metrics._metrics} == {"b", "c"}


def test_a_state_that_fails_to_prepare_is_skipped_and_the_next_is_prepared(router, monkeypatch):
    """One move raising inside the ahead thread: logged, the thread ends (``settle`` is not left waiting for it) and
    the next preparation runs."""
    rng = random.Random(7)
    metrics = Metrics(router.net, variants=3)
    metrics.partial_share = 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    patches = [_zone_arcs(router, rng) for _ in range(3)]
    metrics.warm([("time", klass)])
    metrics.get("time", klass, "now", lambda: patches[0])
    metrics.variants = 2  # no growth past two: each preparation moves a held metric
    metrics.get("time", klass, "spare", lambda: patches[1])
    metrics.get("time", klass, "now", lambda: pytest.fail("held"))
    real, calls = Metrics._move, []

    def failing_once(self, klass_, slot, closed):
        calls.append(len(closed))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(self, klass_, slot, closed)

    monkeypatch.setattr(Metrics, "_move", failing_once)
    assert metrics.prepare("time", klass, "x", lambda: patches[2])
    assert metrics.settle(60)
    assert metrics.prepare("time", klass, "y", lambda: patches[1] | patches[2])
    assert metrics.settle(60)
    assert len(calls) == 2  # the failed move's metric is gone with it: "y" grows a new one (a copy, moved)
    assert metrics.ahead["prepared"] == 1
    assert "y" in {state for _k, _c, state in metrics._metrics}
