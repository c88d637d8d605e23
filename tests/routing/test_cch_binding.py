"""Our binding of RoutingKit's CCH (``hazmat.routing._cch``, issue #18) on random graphs.

The one search from several sources to several targets (``query_many``) must choose what a loop over the
pairwise distances would, with the point-to-point query's path; distances are checked against a plain
Dijkstra; a saved topology loads; partial customisation equals a full one; queries from threads at once
answer as one after the other.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from hazmat.routing import _cch

INF = _cch.INF_WEIGHT


class Graph:
    """A random directed graph with coordinates, its weights, and a reference Dijkstra."""

    def __init__(self, seed: int, nodes: int = 300, arcs: int = 900, closed: float = 0.05) -> None:
        rng = np.random.default_rng(seed)
        self.n = nodes
        # a ring both ways keeps most of it connected; random chords and parallel arcs besides
        ring = np.arange(nodes)
        extra_t, extra_h = rng.integers(0, nodes, arcs), rng.integers(0, nodes, arcs)
        self.tail = np.concatenate([ring, (ring + 1) % nodes, extra_t]).astype(np.uint32)
        self.head = np.concatenate([(ring + 1) % nodes, ring, extra_h]).astype(np.uint32)
        self.lat = rng.random(nodes).astype(np.float32)
        self.lon = rng.random(nodes).astype(np.float32)
        self.weights = rng.integers(0, 50, len(self.tail)).astype(np.uint32)  # zeros: floor(time) of short arcs
        self.weights[rng.random(len(self.tail)) < closed] = INF  # closed arcs, as a zone closes them
        self.topology = _cch.Topology()
        self.topology.build(self.tail, self.head, self.lat, self.lon, nodes)

    def metric(self, weights: np.ndarray | None = None) -> _cch.Metric:
        metric = _cch.Metric(self.topology)
        metric.customize(self.weights if weights is None else weights)
        return metric

    def dijkstra(self, source: int, weights: np.ndarray | None = None) -> list[float]:
        w = self.weights if weights is None else weights
        dist = [math.inf] * self.n
        dist[source] = 0
        heap = [(0, source)]
        out: list[list[int]] = [[] for _ in range(self.n)]
        for a, t in enumerate(self.tail.tolist()):
            if w[a] < INF:
                out[t].append(a)
        while heap:
            d, x = heapq.heappop(heap)
            if d > dist[x]:
                continue
            for a in out[x]:
                y, nd = int(self.head[a]), d + int(w[a])
                if nd < dist[y]:
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        return dist


@pytest.fixture(scope="module", params=[1, 2, 3])
def graph(request: pytest.FixtureRequest) -> Graph:
    return Graph(request.param)


def _path_ok(g: Graph, arcs: np.ndarray, source: int, target: int, distance: int) -> None:
    """The arc path runs from source to target, arc after arc, and its weights add up to the distance."""
    if len(arcs) == 0:
        assert source == target
        return
    assert int(g.tail[arcs[0]]) == source
    assert int(g.head[arcs[-1]]) == target
    assert (g.head[arcs[:-1]] == g.tail[arcs[1:]]).all()
    assert int(g.weights[arcs].astype(np.int64).sum()) == distance


def from_threads(compute, count: int = 4) -> list:
    """``compute()`` in ``count`` threads at once: the results of those that finished (within two minutes)."""
    results: dict[int, object] = {}

    def work(k: int) -> None:
        results[k] = compute()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [results[k] for k in sorted(results)]


def test_query_many_chooses_the_cheapest_pair_of_the_pairwise_queries_with_their_path(graph: Graph):
    metric, rng = graph.metric(), random.Random(7)
    unreachable = 0
    for _ in range(300):
        sources = [rng.randrange(graph.n) for _ in range(rng.choice([1, 2, 2, 3]))]
        targets = [rng.randrange(graph.n) for _ in range(rng.choice([1, 2, 2, 3]))]
        # costs of the partial arcs: seconds, often equal, so ties are broken as a loop over the pairs breaks them
        s_cost = [rng.choice([0.0, 0.5, rng.random() * 20]) for _ in sources]
        t_cost = [rng.choice([0.0, 0.5, rng.random() * 20]) for _ in targets]
        best, pair = math.inf, None
        for i, s in enumerate(sources):
            for j, t in enumerate(targets):
                distance, _nodes, _arcs = metric.query(s, t)
                if distance < INF:
                    cost = s_cost[i] + distance / 1000 + t_cost[j]
                    if cost < best:
                        best, pair = cost, (i, j)
        cost, distance, i, j, arcs = metric.query_many(sources, s_cost, targets, t_cost)
        if pair is None:
            unreachable += 1
            assert (cost, distance, i, j, len(arcs)) == (math.inf, INF, -1, -1, 0)
            continue
        assert (i, j) == pair
        assert cost == best
        expected_distance, _nodes, expected_arcs = metric.query(sources[i], targets[j])
        assert distance == expected_distance == graph.dijkstra(sources[i])[targets[j]]
        assert arcs.tolist() == expected_arcs.tolist()
        _path_ok(graph, arcs, sources[i], targets[j], distance)
    assert unreachable < 300  # the graphs connect most pairs: the comparison above ran


def test_distances_match_dijkstra(graph: Graph):
    metric = graph.metric()
    sources = np.array([0, 17, 123, graph.n - 1], dtype=np.uint32)
    table = metric.distances_many_to_many(sources, np.arange(graph.n, dtype=np.uint32))
    for row, s in zip(table, sources, strict=True):
        expected = graph.dijkstra(int(s))
        assert [d if d < INF else math.inf for d in row.tolist()] == expected


def test_a_saved_topology_loads_and_answers_alike(graph: Graph, tmp_path: Path):
    graph.topology.save(str(tmp_path))
    loaded = _cch.Topology()
    loaded.load(str(tmp_path))
    assert (loaded.node_count, loaded.arc_count) == (graph.n, len(graph.tail))
    one, other = graph.metric(), _cch.Metric(loaded)
    other.customize(graph.weights)
    nodes = np.arange(0, graph.n, 7, dtype=np.uint32)
    assert (one.distances_many_to_many(nodes, nodes) == other.distances_many_to_many(nodes, nodes)).all()
    for s, t in [(0, 150), (3, 299), (77, 12)]:
        assert one.query(s, t)[2].tolist() == other.query(s, t)[2].tolist()


def test_an_unreadable_topology_is_an_error_naming_the_folder(tmp_path: Path):
    topology = _cch.Topology()
    with pytest.raises(RuntimeError):
        topology.load(str(tmp_path))  # no files
    (tmp_path / "order").write_bytes(b"\x01\x02\x03")
    with pytest.raises(RuntimeError):
        topology.load(str(tmp_path))
    with pytest.raises(RuntimeError, match="not built"):
        _cch.Metric(topology)


def test_bad_input_is_an_error_not_a_crash(graph: Graph):
    metric = graph.metric()
    with pytest.raises(IndexError):
        metric.query(graph.n, 0)
    with pytest.raises(IndexError):
        metric.query_many([0], [0.0], [graph.n + 5], [0.0])
    with pytest.raises(ValueError, match="one cost per source"):
        metric.query_many([0, 1], [0.0], [2], [0.0])
    with pytest.raises(ValueError, match="arcs"):
        metric.customize(graph.weights[:-1])
    with pytest.raises(IndexError):
        metric.update_weights(np.array([len(graph.tail)], dtype=np.uint32), np.array([1], dtype=np.uint32))
    with pytest.raises(RuntimeError, match="not customised"):
        _cch.Metric(graph.topology).query(0, 1)
    assert metric.query_many([], [], [1], [0.0])[2] == -1
    with pytest.raises(RuntimeError, match="already built"):  # its metrics keep a reference to the hierarchy
        graph.topology.build(graph.tail, graph.head, graph.lat, graph.lon, graph.n)
    above = graph.weights.copy()  # a weight above INF_WEIGHT would wrap around in the sums: refused, named
    above[3] = _cch.INF_WEIGHT + 1
    with pytest.raises(ValueError, match=r"weights\[3\] .* above INF_WEIGHT"):
        metric.customize(above)
    with pytest.raises(ValueError, match=r"weights\[0\] .* above INF_WEIGHT"):
        metric.update_weights(np.array([3], dtype=np.uint32), np.array([0xFFFFFFFF], dtype=np.uint32))
    empty = np.zeros(0, dtype=np.uint32)
    with pytest.raises(ValueError, match="node_count"):  # RoutingKit crashed on a graph of no node
        _cch.Topology().build(empty, empty, np.zeros(0, np.float32), np.zeros(0, np.float32), 0)


def test_update_weights_equals_a_full_customisation(graph: Graph):
    rng = np.random.default_rng(11)
    metric = graph.metric()
    weights = graph.weights.copy()
    nodes = np.arange(0, graph.n, 5, dtype=np.uint32)
    for _ in range(4):  # close some arcs, reopen others, change a few weights: as zones and passes move a metric
        arcs = np.unique(rng.integers(0, len(weights), 40)).astype(np.uint32)
        new = np.where(rng.random(len(arcs)) < 0.5, INF, rng.integers(1, 50, len(arcs))).astype(np.uint32)
        weights[arcs] = new
        metric.update_weights(arcs, new)
        full = graph.metric(weights)
        assert (metric.weights == weights).all()
        assert (metric.distances_many_to_many(nodes, nodes) == full.distances_many_to_many(nodes, nodes)).all()
        for s, t in [(1, 200), (50, 5), (250, 140)]:
            got, want = (
                metric.query_many([s, t], [0.0, 1.0], [t, s], [0.5, 0.0]),
                full.query_many([s, t], [0.0, 1.0], [t, s], [0.5, 0.0]),
            )
            assert got[:4] == want[:4]
            assert got[4].tolist() == want[4].tolist()


def test_queries_from_threads_at_once_answer_as_one_after_the_other(graph: Graph):
    metric, rng = graph.metric(), random.Random(3)
    asks = [
        ([rng.randrange(graph.n), rng.randrange(graph.n)], [0.0, 0.25], [rng.randrange(graph.n)] * 2, [0.0, 0.1])
        for _ in range(400)
    ]

    def answer(ask):
        cost, distance, i, j, arcs = metric.query_many(*ask)
        return cost, distance, i, j, arcs.tolist(), metric.query(ask[0][0], ask[2][0])[0]

    expected = [answer(a) for a in asks]
    results = from_threads(lambda: [answer(a) for a in asks])
    assert len(results) == 4
    assert all(r == expected for r in results)


def test_queries_go_on_while_another_metric_of_the_topology_customises(graph: Graph):
    """The GIL is released and the scratch is the topology's: one metric customising does not disturb another's
    queries (update_weights and queries on the *same* metric wait for each other)."""
    metric, other = graph.metric(), graph.metric()
    expected = metric.query_many([0, 5], [0.0, 0.0], [200, 100], [0.0, 0.0])[:4]
    stop = threading.Event()

    def customise() -> None:
        while not stop.is_set():
            other.customize(graph.weights)
            other.update_weights(np.array([0, 1], dtype=np.uint32), np.array([INF, 3], dtype=np.uint32))

    worker = threading.Thread(target=customise)
    worker.start()
    try:
        answers = [metric.query_many([0, 5], [0.0, 0.0], [200, 100], [0.0, 0.0])[:4] for _ in range(300)]
    finally:
        stop.set()
        worker.join(timeout=60)
    assert all(a == expected for a in answers)


def test_a_query_beside_update_weights_on_the_same_metric_sees_one_state_or_the_other(graph: Graph):
    """update_weights waits for the queries under way and holds new ones back: never a half-customised metric."""
    ask = ([0, 1], [0.0, 0.5], [150, 151], [0.25, 0.0])
    arcs = np.unique(graph.metric().query_many(*ask)[4])  # closing the route's arcs changes the answer
    assert len(arcs)
    closed = np.full(len(arcs), INF, dtype=np.uint32)
    opened = graph.weights[arcs]
    shut = graph.weights.copy()
    shut[arcs] = INF
    states = {
        repr((a[:4], a[4].tolist())) for a in (graph.metric().query_many(*ask), graph.metric(shut).query_many(*ask))
    }
    assert len(states) == 2  # the closed arcs change the answer: a mix would show
    metric, stop = graph.metric(), threading.Event()

    def toggle() -> None:
        while not stop.is_set():
            metric.update_weights(arcs, closed)
            metric.update_weights(arcs, opened)

    worker = threading.Thread(target=toggle)
    worker.start()
    try:
        seen = [metric.query_many(*ask) for _ in range(500)]
    finally:
        stop.set()
        worker.join(timeout=60)
    assert all(repr((a[:4], a[4].tolist())) in states for a in seen)


def test_a_copied_metric_answers_alike_and_moves_on_its_own(graph: Graph):
    """``copy`` (how a pool grows without a full customisation): the copy answers as the original; moved by
    update_weights it answers as a full customisation of its new weights, and the original is untouched
    (each reads its own weights)."""
    original = graph.metric()
    copied = original.copy()
    nodes = np.arange(0, graph.n, 7, dtype=np.uint32)
    before = original.distances_many_to_many(nodes, nodes)
    assert (copied.distances_many_to_many(nodes, nodes) == before).all()
    rng = np.random.default_rng(5)
    arcs = np.unique(rng.integers(0, len(graph.tail), 60)).astype(np.uint32)
    new = np.where(rng.random(len(arcs)) < 0.5, INF, rng.integers(0, 50, len(arcs))).astype(np.uint32)
    copied.update_weights(arcs, new)
    weights = graph.weights.copy()
    weights[arcs] = new
    assert (copied.weights == weights).all()
    assert (
        copied.distances_many_to_many(nodes, nodes) == graph.metric(weights).distances_many_to_many(nodes, nodes)
    ).all()
    assert (original.weights == graph.weights).all()
    assert (original.distances_many_to_many(nodes, nodes) == before).all()
    with pytest.raises(RuntimeError, match="not customised"):
        _cch.Metric(graph.topology).copy()
