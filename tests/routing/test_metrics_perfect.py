"""The pool perfects its metrics in use in the background (issue #18): searches on fewer arcs, the same answers.

On the Chengdu graph with :attr:`Metrics.perfecting` on (a province's default): :meth:`Metrics.perfect`
queues the state in use of each class used lately, the ahead thread perfects it after any state
queued to move, a metric moved afterwards drops it, and :meth:`Router.prepare` (the worker's timer)
perfects what is in use.
"""

from __future__ import annotations

import random
from datetime import datetime

from hazmat.routing.metrics import Metrics
from tests.routing.test_ahead import _reference, _scene
from tests.routing.test_metrics_searching import _answers
from tests.routing.test_partial_customisation import _zone_arcs
from tests.routing_helpers import request

AT = "2026-11-26T10:00:00+08:00"


def test_the_metric_in_use_is_perfected_in_the_background_and_answers_as_a_full_customisation(router):
    rng = random.Random(1820)
    metrics = Metrics(router.net, variants=2)
    metrics.perfecting = True
    metrics.partial_share = 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    patches = [_zone_arcs(router, rng) for _ in range(2)]
    n = len(router.net.node_ids)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(40)]
    metrics.warm([("time", klass)])
    used = metrics.get("time", klass, "a", lambda: patches[0])
    assert not used.is_perfect
    assert metrics.perfect() == 1  # the one class used
    assert metrics.settle(60)
    assert used.is_perfect
    assert metrics.counts["perfect"] == 1
    assert _answers(used, pairs, n) == _answers(_reference(metrics, klass, patches[0]), pairs, n)
    assert metrics.perfect() == 1
    assert metrics.settle(60)
    assert metrics.counts["perfect"] == 1  # perfect already: not built again
    # a pool of two: the next state grows the pool, the one after that moves "a"'s metric: it is no longer perfect
    metrics.get("time", klass, "b", lambda: patches[1])
    metrics.get("time", klass, "c", lambda: patches[0] | patches[1])
    assert metrics.settle(60)
    moved = metrics.get("time", klass, "c", lambda: patches[0] | patches[1])
    assert not moved.is_perfect
    assert metrics.perfect() == 1
    assert metrics.settle(60)
    assert moved.is_perfect
    closed = patches[0] | patches[1]
    assert _answers(moved, pairs, n) == _answers(_reference(metrics, klass, closed), pairs, n)


def test_a_class_not_used_lately_is_not_perfected_and_perfecting_off_queues_nothing(router):
    metrics = Metrics(router.net)
    metrics.perfecting = True
    metrics.warm([("time", frozenset())])
    metrics.get("time", frozenset(), frozenset())
    assert metrics.perfect(within_s=0.0) == 0  # used before now: not lately
    metrics.perfecting = False
    assert metrics.perfect() == 0
    assert not metrics.get("time", frozenset(), frozenset()).is_perfect


def test_the_workers_timer_perfects_the_metrics_in_use_and_the_answers_stay(router, with_zones):
    """:meth:`Router.prepare` perfects the metrics of the requests served (the unrestricted one for the avoided
    roads, the load's for the route): the same answers after as before."""
    zoned, across, _other, _day = _scene(router, with_zones)
    zoned.metrics.perfecting = True
    asked = request(*across, at=AT)
    before = zoned.plan(asked)
    assert before.avoided  # two searches: the unrestricted one and the load class's
    zoned.prepare(datetime.fromisoformat(AT))
    assert zoned.metrics.settle(60)
    assert zoned.metrics.counts["perfect"] >= 2  # the unrestricted metric and the load class's
    assert all(m.is_perfect for m in zoned.metrics._metrics.values())
    after = zoned.plan(asked)
    assert after.status == "ok"
    assert (after.duration_s, after.length_m, after.avoided, after.geometry) == (
        before.duration_s,
        before.length_m,
        before.avoided,
        before.geometry,
    )
