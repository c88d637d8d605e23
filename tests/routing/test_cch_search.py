"""``Metric.search`` (issue #18): query_many's answer in a state no metric holds, by an A* with CCH potentials.

The metric searched from is a lower bound of the state arc by arc: the unrestricted weights, or a metric
closing a subset of the state's closed arcs. The answer must be query_many's on a metric customised with the
state's weights: the same pair (of least source cost + distance / scale + target cost, the first of equals
source-major), cost and distance; the path any shortest one (checked arc by arc against the state's weights).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from hazmat.routing import _cch
from tests.routing.test_cch_binding import from_threads

INF = _cch.INF_WEIGHT


class Graph:
    """Random points joined to their nearest neighbours (both ways, parallel arcs too) and a few long chords, like
    a road graph; ``isolated`` more nodes with arcs in only (reachable from nowhere) or out only."""

    def __init__(self, seed: int, nodes: int = 400, isolated: int = 4) -> None:
        rng = np.random.default_rng(seed)
        self.n = nodes + isolated
        self.lon = rng.random(self.n)
        self.lat = rng.random(self.n)
        xy = np.stack([self.lon[:nodes], self.lat[:nodes]], axis=1)
        near = np.argsort(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2), axis=1)[:, 1:4]
        tail = [np.repeat(np.arange(nodes), 3), near.ravel()]
        head = [near.ravel(), np.repeat(np.arange(nodes), 3)]
        chords = rng.integers(0, nodes, (2, nodes // 10))
        tail.append(chords[0])
        head.append(chords[1])
        for k in range(isolated):  # half only entered, half only left: unreachable either way
            other = rng.integers(0, nodes, 2)
            tail.append(np.array([other[0]]) if k % 2 == 0 else np.array([nodes + k]))
            head.append(np.array([nodes + k]) if k % 2 == 0 else np.array([other[1]]))
        self.tail = np.concatenate(tail).astype(np.uint32)
        self.head = np.concatenate(head).astype(np.uint32)
        length = np.hypot(self.lon[self.tail] - self.lon[self.head], self.lat[self.tail] - self.lat[self.head])
        self.weights = np.floor(length * 400).astype(np.uint32)  # floor(time) of short arcs: zeros
        self.topology = _cch.Topology()
        self.topology.build(self.tail, self.head, self.lat.astype(np.float32), self.lon.astype(np.float32), self.n)

    def metric(self, weights: np.ndarray) -> _cch.Metric:
        metric = _cch.Metric(self.topology)
        metric.customize(weights)
        return metric

    def zones(self, rng: np.random.Generator, count: int) -> list[np.ndarray]:
        """The arcs of ``count`` discs around random points (an end inside), as zones close them."""
        out = []
        for _ in range(count):
            x, y, r = rng.random(), rng.random(), rng.uniform(0.04, 0.12)
            inside = np.hypot(self.lon - x, self.lat - y) < r
            out.append(np.flatnonzero(inside[self.tail] | inside[self.head]))
        return out


@pytest.fixture(scope="module", params=[1, 2, 3])
def graph(request: pytest.FixtureRequest) -> Graph:
    return Graph(request.param)


def _states(g: Graph, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, lower weights, state weights): the lower closing none, or a subset, of the state's closed arcs."""
    rng = np.random.default_rng(seed)
    zones = g.zones(rng, 6)
    state = g.weights.copy()
    for z in zones:
        state[z] = INF
    raised = rng.random(len(state)) < 0.05
    state[raised & (state < INF)] += rng.integers(0, 30, int((raised & (state < INF)).sum())).astype(np.uint32)
    subset = g.weights.copy()
    for z in zones[:3]:
        subset[z] = INF
    return [("none", g.weights, state), ("subset", subset, state), ("equal", state, state)]


def _asks(n: int, rng: random.Random, count: int) -> list[tuple[list[int], list[float], list[int], list[float]]]:
    asks = []
    for _ in range(count):
        sources = [rng.randrange(n) for _ in range(rng.choice([1, 2, 2]))]
        targets = [rng.randrange(n) for _ in range(rng.choice([1, 2, 2]))]
        if rng.random() < 0.1:
            targets[0] = sources[0]  # the source is a target
        # seconds, often equal (ties broken as query_many's loop breaks them) or a fraction of a weight unit apart
        s_cost = [rng.choice([0.0, 0.5, 0.0004, rng.random() * 0.05]) for _ in sources]
        t_cost = [rng.choice([0.0, 0.5, 0.0007, rng.random() * 0.05]) for _ in targets]
        asks.append((sources, s_cost, targets, t_cost))
    return asks


def _path_ok(g: Graph, weights: np.ndarray, arcs: np.ndarray, source: int, target: int, distance: int) -> None:
    """The arc path runs from source to target, arc after arc, on open arcs, and its weights add up to the distance."""
    if len(arcs) == 0:
        assert source == target
        assert distance == 0
        return
    assert int(g.tail[arcs[0]]) == source
    assert int(g.head[arcs[-1]]) == target
    assert (g.head[arcs[:-1]] == g.tail[arcs[1:]]).all()
    assert (weights[arcs] < INF).all()
    assert int(weights[arcs].astype(np.int64).sum()) == distance


@pytest.mark.parametrize("scale", [1000.0, 1.0])
def test_search_answers_as_query_many_on_the_state_customised(graph: Graph, scale: float):
    rng = random.Random(int(scale) + 5)
    for name, lower_weights, state in _states(graph, seed=int(scale)):
        lower, full = graph.metric(lower_weights), graph.metric(state)
        unreachable = 0
        for sources, s_cost, targets, t_cost in _asks(graph.n, rng, 250):
            want = full.query_many(sources, s_cost, targets, t_cost, scale)
            got = lower.search(state, sources, s_cost, targets, t_cost, scale)
            assert got[:4] == want[:4], (name, sources, s_cost, targets, t_cost)
            if got[2] < 0:
                unreachable += 1
                assert (got[0], got[1], len(got[4])) == (math.inf, INF, 0)
                continue
            _path_ok(graph, state, got[4], sources[got[2]], targets[got[3]], got[1])
        assert unreachable < 125  # most pairs connect: the comparisons above ran


def test_the_float_costs_choose_the_pair_not_their_whole_weight_units():
    """Two pairs whose floored integer keys order them the other way: (0, 0) has key 5 but costs 6.98 units,
    (1, 1) key 6 and cost 6 units. A search stopping at its first target would answer (0, 0)."""
    tail, head = np.array([0, 2], dtype=np.uint32), np.array([1, 3], dtype=np.uint32)
    topology = _cch.Topology()
    topology.build(tail, head, np.array([0, 0, 1, 1], np.float32), np.array([0, 1, 0, 1], np.float32), 4)
    lower, state = _cch.Metric(topology), np.array([5, 6], dtype=np.uint32)
    lower.customize(np.array([1, 1], dtype=np.uint32))
    full = _cch.Metric(topology)
    full.customize(state)
    ask = ([0, 2], [0.00099, 0.0], [1, 3], [0.00099, 0.0])
    got = lower.search(state, *ask)
    assert got[:4] == full.query_many(*ask)[:4]
    assert got[2:4] == (1, 1)
    assert got[1] == 6
    assert got[4].tolist() == [1]


def test_sources_a_fraction_of_a_weight_unit_apart_are_told_apart(graph: Graph):
    """One node twice as a source (and a target twice), costs under one weight unit apart: their integer keys are
    equal, so neither label may stand aside for the other; the cheaper one wins, as in query_many."""
    metric, full = graph.metric(graph.weights), graph.metric(graph.weights)
    rng = random.Random(11)
    for _ in range(40):
        s, t = rng.randrange(graph.n), rng.randrange(graph.n)
        for s_cost, t_cost in (
            ([0.0009, 0.0001], [0.0, 0.0]),
            ([0.0, 0.0], [0.0008, 0.0002]),
            ([0.0011, 0.0], [0.0, 0.0]),
        ):
            got = metric.search(graph.weights, [s, s], s_cost, [t, t], t_cost)
            assert got[:4] == full.query_many([s, s], s_cost, [t, t], t_cost)[:4]
            if got[2] >= 0:
                assert (got[2], got[3]) == ((1, 0) if s_cost[0] > s_cost[1] else (0, 1))


def test_an_infinite_cost_is_never_chosen_as_in_query_many(graph: Graph):
    lower, state = graph.weights, _states(graph, seed=9)[0][2]
    metric, full = graph.metric(lower), graph.metric(state)
    rng = random.Random(4)
    for _ in range(50):
        s, t = [rng.randrange(graph.n), rng.randrange(graph.n)], [rng.randrange(graph.n), rng.randrange(graph.n)]
        for s_cost, t_cost in (
            ([math.inf, 0.0], [0.0, 0.1]),
            ([0.0, 0.1], [0.2, math.inf]),
            ([math.inf] * 2, [0.0] * 2),
        ):
            got, want = metric.search(state, s, s_cost, t, t_cost), full.query_many(s, s_cost, t, t_cost)
            assert got[:4] == want[:4]
            assert got[2] != 0 or s_cost[0] < math.inf
            assert got[3] != 1 or t_cost[1] < math.inf


def test_unreachable_targets_and_zero_weights(graph: Graph):
    """Every weight zero (distance 0 wherever reachable) and the isolated nodes (in only, out only)."""
    zero = np.zeros(len(graph.tail), dtype=np.uint32)
    metric, full = graph.metric(zero), graph.metric(zero)
    entered_only, left_only = graph.n - 4, graph.n - 3
    assert (
        metric.search(zero, [left_only], [0.0], [5], [0.0])[:4] == full.query_many([left_only], [0.0], [5], [0.0])[:4]
    )
    got = metric.search(zero, [5, 6], [0.0, 0.0], [left_only], [0.0])  # no arc enters it
    assert (got[0], got[1], got[2], got[3], len(got[4])) == (math.inf, INF, -1, -1, 0)
    got = metric.search(zero, [entered_only], [0.0], [5, 6], [0.0, 0.0])  # no arc leaves it
    assert got[2] == -1
    rng = random.Random(8)
    for sources, s_cost, targets, t_cost in _asks(graph.n, rng, 100):
        got, want = (
            metric.search(zero, sources, s_cost, targets, t_cost),
            full.query_many(sources, s_cost, targets, t_cost),
        )
        assert got[:4] == want[:4]
        if got[2] >= 0:
            assert got[1] == 0
            _path_ok(graph, zero, got[4], sources[got[2]], targets[got[3]], 0)


def test_potentials_guide_the_search(graph: Graph):
    """From the state's own metric (exact potentials) the search settles fewer nodes than from an all-zero
    metric (a lower bound too, with no guidance: a plain Dijkstra), and both answer alike."""
    _name, _lower, state = _states(graph, seed=3)[0]
    exact, blind = graph.metric(state), graph.metric(np.zeros(len(graph.tail), dtype=np.uint32))
    rng = random.Random(6)
    settled = {"exact": 0, "blind": 0}
    for sources, s_cost, targets, t_cost in _asks(graph.n, rng, 100):
        answers = []
        for which, metric in (("exact", exact), ("blind", blind)):
            stats: dict = {}
            answers.append(metric.search(state, sources, s_cost, targets, t_cost, stats=stats)[:4])
            settled[which] += stats["settled"]
            assert stats["check_s"] >= 0
            assert stats["search_s"] >= 0
        assert answers[0] == answers[1]
    assert settled["exact"] * 2 < settled["blind"], settled


def test_a_weight_below_the_metric_is_a_value_error_naming_the_arc(graph: Graph):
    metric = graph.metric(graph.weights)
    state = graph.weights.copy()
    state[[7, 40]] = INF
    arc = int(np.flatnonzero(graph.weights > 0)[3])
    state[arc] = graph.weights[arc] - 1
    with pytest.raises(
        ValueError, match=rf"weights\[{arc}\] = {state[arc]} is below this metric's {graph.weights[arc]}"
    ):
        metric.search(state, [0], [0.0], [1], [0.0])
    with pytest.raises(ValueError, match="arcs"):
        metric.search(graph.weights[:-1], [0], [0.0], [1], [0.0])
    with pytest.raises(ValueError, match="one cost per source"):
        metric.search(graph.weights, [0, 1], [0.0], [1], [0.0])
    with pytest.raises(ValueError, match=r"target_costs\[1\]"):
        metric.search(graph.weights, [0], [0.0], [1, 2], [0.0, math.nan])
    with pytest.raises(ValueError, match="scale"):
        metric.search(graph.weights, [0], [0.0], [1], [0.0], 0.0)
    with pytest.raises(ValueError, match=r"source_costs\[0\]"):  # -inf once scaled: no offset (found in review)
        metric.search(graph.weights, [0], [-1e306], [1], [0.0])
    # a pair of infinite cost is no pair, for one pair as for many (query_many's one-pair run chose it)
    assert metric.query_many([0], [math.inf], [1], [0.0])[2:4] == (-1, -1)
    assert metric.search(graph.weights, [0], [math.inf], [1], [0.0])[2:4] == (-1, -1)
    with pytest.raises(IndexError):
        metric.search(graph.weights, [graph.n], [0.0], [1], [0.0])
    with pytest.raises(RuntimeError, match="not customised"):
        _cch.Metric(graph.topology).search(graph.weights, [0], [0.0], [1], [0.0])
    assert metric.search(graph.weights, [], [], [1], [0.0])[2] == -1


def test_searches_from_threads_at_once_answer_as_one_after_the_other(graph: Graph):
    """Searches in several states on one metric, beside its own queries, from four threads (the GIL released,
    each search on a scratch of the pool)."""
    states = [s for _n, _l, s in _states(graph, seed=1)[:1] + _states(graph, seed=2)[:1]]
    metric, rng = graph.metric(graph.weights), random.Random(3)
    asks = [(k % 2, ask) for k, ask in enumerate(_asks(graph.n, rng, 300))]

    def answer(which: int, ask: tuple) -> tuple:
        cost, distance, i, j, arcs = metric.search(states[which], *ask)
        return cost, distance, i, j, arcs.tolist(), metric.query_many(*ask)[:4]

    expected = [answer(*a) for a in asks]
    results = from_threads(lambda: [answer(*a) for a in asks])
    assert len(results) == 4
    assert all(r == expected for r in results)


class Grid:
    """A grid of two-way streets, ``side`` × ``side`` nodes (large enough that a search the state blocks settles
    thousands of labels before it could know), its weights with zeros."""

    def __init__(self, side: int = 120, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.side, self.n = side, side * side
        ids = np.arange(self.n).reshape(side, side)
        right = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()])
        down = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])
        pairs = np.concatenate([right, down], axis=1)
        self.tail = np.concatenate([pairs[0], pairs[1]]).astype(np.uint32)
        self.head = np.concatenate([pairs[1], pairs[0]]).astype(np.uint32)
        self.x, self.y = (ids % side).ravel().astype(float), (ids // side).ravel().astype(float)
        self.weights = rng.integers(0, 20, len(self.tail)).astype(np.uint32)
        self.topology = _cch.Topology()
        self.topology.build(self.tail, self.head, self.y.astype(np.float32), self.x.astype(np.float32), self.n)

    def node(self, x: int, y: int) -> int:
        return y * self.side + x

    def metric(self, weights: np.ndarray) -> _cch.Metric:
        metric = _cch.Metric(self.topology)
        metric.customize(weights)
        return metric

    def ring(self, x: int, y: int, radius: float) -> np.ndarray:
        """The arcs crossing a circle: what encloses its inside."""
        inside = np.hypot(self.x - x, self.y - y) < radius
        return np.flatnonzero(inside[self.tail] != inside[self.head])


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid()


def test_a_target_the_state_encloses_is_found_unreachable_without_searching_the_whole_graph(grid: Grid):
    """Under the unrestricted weights the target is near; in the state a closed ring encloses it. The backward
    search from it ends at once: the A* stops soon after it starts, not after every node."""
    state = grid.weights.copy()
    state[grid.ring(60, 60, 6)] = INF
    metric, full = grid.metric(grid.weights), grid.metric(state)
    for sources, targets in (([grid.node(50, 60), grid.node(10, 10)], [grid.node(60, 60)]), ([3], [grid.node(62, 61)])):
        stats: dict = {}
        got = metric.search(state, sources, [0.0] * len(sources), targets, [0.0], stats=stats)
        assert got[:4] == full.query_many(sources, [0.0] * len(sources), targets, [0.0])[:4]
        assert got[2] == -1
        assert 0 < stats["reached"] < 200  # the ring's inside
        assert stats["settled"] < grid.n // 2
        assert stats["dropped"] == len(sources)


def test_a_long_detour_and_labels_that_reach_no_target(grid: Grid):
    """Walls with far gaps (long detours: the backward search starts, and stops once it reached the sources),
    one-way closures (sources that reach no target: their labels are dropped), zones: equal to query_many."""
    rng = np.random.default_rng(12)
    state = grid.weights.copy()
    for wall in (40, 80):  # a vertical wall at x = wall + 0.5 with a gap near one edge
        crossing = np.flatnonzero(
            ((grid.x[grid.tail] <= wall) != (grid.x[grid.head] <= wall)) & (grid.y[grid.tail] > 8)
        )
        state[crossing] = INF
    one_way = rng.random(len(state)) < 0.25
    state[one_way] = INF
    for _ in range(6):
        state[grid.ring(*rng.integers(0, grid.side, 2), rng.uniform(3, 10))] = INF
    full, searched = grid.metric(state), {"reached": 0, "dropped": 0, "found": 0}
    r = random.Random(2)
    for lower in (grid.weights, np.where(one_way, INF, grid.weights).astype(np.uint32)):
        metric = grid.metric(lower)
        for _ in range(60):
            sources = [grid.node(r.randrange(0, 40), r.randrange(grid.side)) for _ in range(r.choice([1, 2]))]
            targets = [grid.node(r.randrange(81, 120), r.randrange(grid.side)) for _ in range(r.choice([1, 2]))]
            s_cost, t_cost = [r.random() for _ in sources], [r.random() for _ in targets]
            stats: dict = {}
            got = metric.search(state, sources, s_cost, targets, t_cost, stats=stats)
            assert got[:4] == full.query_many(sources, s_cost, targets, t_cost)[:4]
            if got[2] >= 0:
                searched["found"] += 1
                _path_ok(grid, state, got[4], sources[got[2]], targets[got[3]], got[1])  # type: ignore[arg-type]
            searched["reached"] += stats["reached"] > 0
            searched["dropped"] += stats["dropped"]
    assert all(searched.values()), searched  # every case above happened


def test_a_label_is_never_dominated_by_a_longer_one_that_passes_inf_weight_on_its_way():
    """Source B's label at X is 3 units of key below source X's own, but B's continuation to T passes INF_WEIGHT
    (unreachable) where X's does not: X's answer must stand (found in review: the search found nothing)."""
    tail, head = np.array([0, 1], np.uint32), np.array([1, 2], np.uint32)
    weights = np.array([2**30 + 10, 2**30], np.uint32)
    topology = _cch.Topology()
    topology.build(tail, head, np.zeros(3, np.float32), np.arange(3, dtype=np.float32), 3)
    metric = _cch.Metric(topology)
    metric.customize(weights)
    ends = ([1, 0], [float(2**30 + 13), 0.0], [2], [0.0], 1.0)
    expected = metric.query_many(*ends)
    assert expected[1] == 2**30
    got = metric.search(weights, *ends)
    assert got[:4] == expected[:4]
    assert list(got[4]) == [1]
