"""A state no held metric is in is answered now, exactly, by an A* on its weights (issue #18), while its move runs.

On the Chengdu graph with :attr:`Metrics.searching` on (a province's default): a request whose state
is held by no metric gets a :class:`Searching` whose ``query_many`` answers as a full customisation of
the state's weights would; a :class:`Provisional` whose path drives a newly closed arc answers the same
way instead of waiting while the move still runs; once moved, the state is held.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from hazmat.routing.metrics import Lease, Metrics, Provisional, Searching
from tests.routing.test_ahead import _reference
from tests.routing.test_partial_customisation import _zone_arcs


def _answers(metric, pairs, n: int):
    """query_many's (cost, distance, source, target) over 2×2 searches with partial costs, as the router asks them."""
    out = []
    for s, t in pairs:
        sources = np.array([s, (s + 1) % n], dtype=np.uint32)
        targets = np.array([t, (t + 7) % n], dtype=np.uint32)
        cost, distance, i, j, _arcs = metric.query_many(sources, [0.0, 1.5], targets, [2.0, 0.25])
        out.append((cost, distance, i, j) if distance < 2**31 else (cost, None, -1, -1))
    return out


@pytest.fixture
def held_moves(monkeypatch):
    """Hold every move of a metric until the test sets the event (a province's move takes up to seconds)."""
    release = threading.Event()
    original = Metrics._move

    def slow(self, klass, slot, closed):
        assert release.wait(60)
        original(self, klass, slot, closed)

    monkeypatch.setattr(Metrics, "_move", slow)
    yield release
    release.set()


def _metrics(router, rng):
    metrics = Metrics(router.net, variants=2)
    metrics.searching = metrics.provisional = True
    metrics.partial_share = 1.0
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    metrics.warm([("time", frozenset()), ("time", klass)])
    return metrics, klass


def _holding_a(router, held_moves, seed: int, zones: int, count: int = 40):
    """The class holding state "a" (the first of ``zones`` random zones closed), every move held from then on; the
    zones, the node count and ``count`` random pairs."""
    rng = random.Random(seed)
    metrics, klass = _metrics(router, rng)
    patches = [_zone_arcs(router, rng) for _ in range(zones)]
    n = len(router.net.node_ids)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(count)]
    held_moves.set()
    metrics.get("time", klass, "a", lambda: patches[0])
    held_moves.clear()
    return metrics, klass, patches, n, pairs


def test_a_state_below_no_held_metric_is_answered_by_the_search_as_its_own_metric_would(router, held_moves):
    metrics, klass, (a, b), n, pairs = _holding_a(router, held_moves, 1821, 2)
    got = metrics.lease("time", klass, "b", lambda: b - a)  # the class holds "a" only: no metric of it below "b"
    try:
        assert isinstance(got, Searching)
        assert _answers(got.metric, pairs, n) == _answers(_reference(metrics, klass, b - a), pairs, n)
    finally:
        got.release()
    assert metrics.ahead["searched"] == 1
    held_moves.set()
    assert metrics.settle(60)
    again = metrics.lease("time", klass, "b", lambda: pytest.fail("held: no closing asked"))
    again.release()
    assert type(again) is Lease  # moved meanwhile: the state's own metric
    assert _answers(again.metric, pairs, n) == _answers(_reference(metrics, klass, b - a), pairs, n)


def test_a_provisional_answer_that_drives_a_newly_closed_arc_searches_instead_of_waiting(router, held_moves):
    metrics, klass, (a, b), n, pairs = _holding_a(router, held_moves, 1822, 2)
    found = metrics.lease("time", klass, "a+b", lambda: a | b)  # closes more than "a": provisional
    assert isinstance(found, Provisional)
    own = found.wait(lease=True)  # the move is held: no waiting, a search on the metric read
    try:
        assert isinstance(own, Searching)
        assert _answers(own.metric, pairs, n) == _answers(_reference(metrics, klass, a | b), pairs, n)
    finally:
        own.release()
    assert (metrics.ahead["searched"], metrics.ahead["waited"]) == (1, 0)
    held_moves.set()
    assert metrics.settle(60)
    assert ("time", klass, "a+b") in metrics._metrics


def test_searching_off_waits_for_the_move_as_before(router):
    rng = random.Random(1823)
    metrics, klass = _metrics(router, rng)
    metrics.searching = False
    a, b = _zone_arcs(router, rng), _zone_arcs(router, rng)
    metrics.get("time", klass, "a", lambda: a)
    got = metrics.lease("time", klass, "b", lambda: b - a)
    got.release()
    assert type(got) is Lease
    assert metrics.ahead["searched"] == 0


def test_while_a_class_moves_a_metric_a_new_state_is_searched_without_a_second_move(router, held_moves):
    """Every request of a new state would otherwise start its own move (a full customisation each while the class
    holds none): one move per class at a time, the other states searched and queued to be moved after it."""
    metrics, klass, (a, b, c), n, pairs = _holding_a(router, held_moves, 1824, 3, 20)
    first = metrics.lease("time", klass, "b", lambda: b - a)
    first.release()
    second = metrics.lease("time", klass, "c", lambda: c - a - b)
    try:
        assert isinstance(second, Searching)
        assert _answers(second.metric, pairs, n) == _answers(_reference(metrics, klass, c - a - b), pairs, n)
    finally:
        second.release()
    assert [k[2] for k in metrics._moving if k[:2] == ("time", klass)] == ["b"]
    held_moves.set()
    assert metrics.settle(60)
    states = {state for _kind, _closed, state in metrics._metrics}
    assert {"b", "c"} <= states  # "c" queued ahead of need: moved after "b", on the ahead thread
    assert metrics.ahead["prepared"] == 1
    later = metrics.lease("time", klass, "c", lambda: pytest.fail("held: no closing asked"))
    later.release()
    assert type(later) is Lease
    assert _answers(later.metric, pairs, n) == _answers(_reference(metrics, klass, c - a - b), pairs, n)


def test_a_class_still_warming_after_a_start_is_searched_not_waited_for(router, monkeypatch):
    """A worker answers once its unrestricted metric is customised; the default load class's first metric follows
    in the background (5–7 s at a million nodes): its requests meanwhile are searched, exactly."""
    rng = random.Random(1825)
    metrics = Metrics(router.net)
    metrics.searching = True
    klass = frozenset(rng.sample(range(len(metrics._weights["time"])), 40))
    a = _zone_arcs(router, rng)
    n = len(router.net.node_ids)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(20)]
    metrics.warm([("time", frozenset())])
    release = threading.Event()
    original = Metrics._add_spare

    def slow(self, klass, done=None):
        assert release.wait(60)
        original(self, klass, done)

    monkeypatch.setattr(Metrics, "_add_spare", slow)
    metrics.warm([("time", klass)], wait=False)
    try:
        got = metrics.lease("time", klass, "a", lambda: a)
        try:
            assert isinstance(got, Searching)
            assert _answers(got.metric, pairs, n) == _answers(_reference(metrics, klass, a), pairs, n)
        finally:
            got.release()
    finally:
        release.set()
    assert metrics.settle(60)
    metrics.lease("time", klass, "a", lambda: a).release()  # the class warm: this one moves its metric to "a"
    assert metrics.settle(60)
    held = metrics.lease("time", klass, "a", lambda: a)
    held.release()
    assert type(held) is Lease
    assert _answers(held.metric, pairs, n) == _answers(_reference(metrics, klass, a), pairs, n)


def test_a_move_begun_before_the_zones_changed_is_waited_for_not_searched_on_its_old_arcs(router, held_moves):
    """After ``forget_states`` (the zones replaced) a state key means other zones: a request for it while the move
    begun before runs is never answered from that move's arcs (found in review: searched on the old weights)."""
    metrics, klass, (_a, old, new), n, pairs = _holding_a(router, held_moves, 1826, 3, 300)
    metrics.lease("time", klass, "S", lambda: old).release()  # searched; its move (to ``old``) held
    metrics.forget_states()
    found: dict[str, object] = {}
    asking = threading.Thread(target=lambda: found.setdefault("lease", metrics.lease("time", klass, "S", lambda: new)))
    asking.start()
    held_moves.set()
    asking.join(60)
    got = found["lease"]
    try:
        assert _answers(got.metric, pairs, n) == _answers(_reference(metrics, klass, new), pairs, n)
    finally:
        got.release()
    assert metrics.settle(60)
