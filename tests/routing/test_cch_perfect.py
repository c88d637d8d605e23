"""Perfect customisation in our CCH binding (``Metric.perfect``, issue #18) on random graphs.

After ``perfect()``, ``query_many`` walks only the arcs a perfect customisation keeps. It must answer every
search with the basic walk's cost, distance and chosen pair, and a path that is a shortest one (on ties it may
differ from the basic path). A new state of the metric (``customize``, ``update_weights``) drops the perfect
graphs, and one built from a state that changed meanwhile is never installed: answers are never stale.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading

import numpy as np
import pytest

from hazmat.routing import _cch

INF = _cch.INF_WEIGHT


class Graph:
    """A random directed graph in ``parts`` disconnected pieces (each a ring both ways and random chords), with
    parallel arcs, zero weights and closed (INF) arcs, and a reference Dijkstra."""

    def __init__(self, seed: int, nodes: int = 240, chords: int = 500, parts: int = 2) -> None:
        rng = np.random.default_rng(seed)
        self.n = nodes
        tails, heads = [], []
        bounds = np.linspace(0, nodes, parts + 1).astype(int)
        for lo, hi in itertools.pairwise(bounds):
            ring = np.arange(lo, hi)
            nxt = np.concatenate([ring[1:], ring[:1]])
            tails += [ring, nxt, rng.integers(lo, hi, chords // parts)]
            heads += [nxt, ring, rng.integers(lo, hi, chords // parts)]
        tail, head = np.concatenate(tails), np.concatenate(heads)
        twins = rng.integers(0, len(tail), len(tail) // 10)  # parallel arcs, with their own weights
        self.tail = np.concatenate([tail, tail[twins]]).astype(np.uint32)
        self.head = np.concatenate([head, head[twins]]).astype(np.uint32)
        self.weights = rng.integers(0, 40, len(self.tail)).astype(np.uint32)
        self.weights[rng.random(len(self.tail)) < 0.1] = 0  # floor(time) of short arcs: many ties
        self.weights[rng.random(len(self.tail)) < 0.05] = INF  # closed, as a zone closes them
        lat, lon = rng.random(nodes).astype(np.float32), rng.random(nodes).astype(np.float32)
        self.topology = _cch.Topology()
        self.topology.build(self.tail, self.head, lat, lon, nodes)

    def metric(self, weights: np.ndarray | None = None) -> _cch.Metric:
        metric = _cch.Metric(self.topology)
        metric.customize(self.weights if weights is None else weights)
        return metric

    def dijkstra(self, source: int, weights: np.ndarray) -> list[float]:
        dist = [math.inf] * self.n
        dist[source] = 0
        out: list[list[int]] = [[] for _ in range(self.n)]
        for a, t in enumerate(self.tail.tolist()):
            if weights[a] < INF:
                out[t].append(a)
        heap = [(0, source)]
        while heap:
            d, x = heapq.heappop(heap)
            if d > dist[x]:
                continue
            for a in out[x]:
                y, nd = int(self.head[a]), d + int(weights[a])
                if nd < dist[y]:
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        return dist

    def asks(self, seed: int, count: int) -> list[tuple[list[int], list[float], list[int], list[float]]]:
        """Searches of 1 to 3 sources and targets, costs often equal (ties broken source-major)."""
        rng = random.Random(seed)
        out = []
        for _ in range(count):
            sources = [rng.randrange(self.n) for _ in range(rng.choice([1, 2, 2, 3]))]
            targets = [rng.randrange(self.n) for _ in range(rng.choice([1, 2, 2, 3]))]
            s_cost = [rng.choice([0.0, 0.5, rng.random() * 20]) for _ in sources]
            t_cost = [rng.choice([0.0, 0.5, rng.random() * 20]) for _ in targets]
            out.append((sources, s_cost, targets, t_cost))
        return out


@pytest.fixture(scope="module", params=[1, 2, 3, 4])
def graph(request: pytest.FixtureRequest) -> Graph:
    return Graph(request.param, parts=1 + request.param % 2)


def shortest_path_ok(g: Graph, weights: np.ndarray, arcs: np.ndarray, source: int, target: int, distance: int) -> bool:
    """The input arcs chain from source to target and their weights add up to the distance."""
    if len(arcs) == 0:
        return source == target and distance == 0
    return (
        int(g.tail[arcs[0]]) == source
        and int(g.head[arcs[-1]]) == target
        and bool((g.head[arcs[:-1]] == g.tail[arcs[1:]]).all())
        and int(weights[arcs].astype(np.int64).sum()) == distance
    )


def same_answer(g: Graph, weights: np.ndarray, ask, got, want) -> bool:
    """``got`` (perfect) answers as ``want`` (basic): cost, distance and pair equal, its path a shortest one."""
    if got[:4] != want[:4]:
        return False
    _cost, distance, i, j, arcs = got
    return i < 0 or shortest_path_ok(g, weights, arcs, ask[0][i], ask[2][j], distance)


def test_perfect_query_many_answers_as_the_basic_one_with_a_shortest_path(graph: Graph):
    basic = graph.metric()
    perfect = basic.copy()
    assert perfect.perfect_arcs is None
    assert not perfect.is_perfect
    assert perfect.perfect() is True
    assert perfect.is_perfect
    assert not basic.is_perfect
    forward, backward, size = perfect.perfect_arcs
    cch_arcs = graph.topology.cch_arc_count
    assert 0 < forward < cch_arcs
    assert 0 < backward < cch_arcs
    assert size >= 16 * (forward + backward)  # head, weight and two words of unpacking per kept arc
    unreachable = 0
    for ask in graph.asks(7, 400):
        want, got = basic.query_many(*ask), perfect.query_many(*ask)
        assert same_answer(graph, graph.weights, ask, got, want), (ask, got, want)
        unreachable += want[2] < 0
        if want[2] >= 0:
            assert want[1] == graph.dijkstra(ask[0][want[2]], graph.weights)[ask[2][want[3]]]
    assert unreachable < 300  # most asks connect (the parts are two at most): the comparison above ran


def test_every_pair_s_distance_is_dijkstra_s(graph: Graph):
    """One source, one target, zero costs: every distance of the perfect graphs, reachable or not."""
    perfect = graph.metric()
    perfect.perfect()
    rng = random.Random(5)
    for source in rng.sample(range(graph.n), 8):
        expected = graph.dijkstra(source, graph.weights)
        for target in range(graph.n):
            _cost, distance, i, _j, arcs = perfect.query_many([source], [0.0], [target], [0.0])
            if expected[target] == math.inf:
                assert (i, distance) == (-1, INF)
            else:
                assert distance == expected[target]
                assert shortest_path_ok(graph, graph.weights, arcs, source, target, distance)


def test_a_new_state_drops_the_perfect_graphs_and_answers_follow_it(graph: Graph):
    rng = np.random.default_rng(3)
    metric = graph.metric()
    weights = graph.weights.copy()
    asks = graph.asks(11, 60)
    for _ in range(3):
        assert metric.perfect() is True
        copied = metric.copy()  # shares the perfect graphs
        assert copied.is_perfect
        arcs = np.unique(rng.integers(0, len(weights), 30)).astype(np.uint32)
        new = np.where(rng.random(len(arcs)) < 0.5, INF, rng.integers(0, 40, len(arcs))).astype(np.uint32)
        weights[arcs] = new
        metric.update_weights(arcs, new)
        assert not metric.is_perfect
        assert metric.perfect_arcs is None
        assert copied.is_perfect  # the copy keeps its state and its graphs
        full = graph.metric(weights)
        for ask in asks:
            assert same_answer(graph, weights, ask, metric.query_many(*ask), full.query_many(*ask))
        assert metric.perfect() is True
        for ask in asks:
            assert same_answer(graph, weights, ask, metric.query_many(*ask), full.query_many(*ask))
    metric.customize(graph.weights)
    assert not metric.is_perfect


def test_perfect_is_not_installed_when_the_metric_changed_meanwhile(graph: Graph):
    metric = graph.metric()
    ask = ([0, 1], [0.0, 0.5], [graph.n // 2 - 2, graph.n // 2 - 1], [0.25, 0.0])
    route = np.unique(metric.query_many(*ask)[4])
    assert len(route)
    closed = np.full(len(route), INF, dtype=np.uint32)
    shut = graph.weights.copy()
    shut[route] = INF
    calls = []

    def close_the_route() -> None:  # between the weights' copy and the build
        calls.append(1)
        metric.update_weights(route, closed)

    assert metric.perfect(after_snapshot=close_the_route) is False
    assert calls == [1]
    assert not metric.is_perfect
    want = graph.metric(shut).query_many(*ask)
    assert same_answer(graph, shut, ask, metric.query_many(*ask), want)
    assert metric.perfect(after_snapshot=lambda: None) is True  # nothing changed meanwhile: installed
    assert same_answer(graph, shut, ask, metric.query_many(*ask), want)
    with pytest.raises(RuntimeError, match="not customised"):
        _cch.Metric(graph.topology).perfect()


def test_perfect_beside_an_update_loop_never_answers_from_an_old_state(graph: Graph):
    """One thread rebuilds perfect graphs without end while another closes and opens a route: after every update,
    the metric answers as its new state (a graph built from the state before was not installed)."""
    ask = ([0, 1], [0.0, 0.5], [graph.n // 2 - 2, graph.n // 2 - 1], [0.25, 0.0])
    metric = graph.metric()
    route = np.unique(metric.query_many(*ask)[4])
    assert len(route)
    shut = graph.weights.copy()
    shut[route] = INF
    states = {
        "open": (graph.weights, graph.metric().query_many(*ask)),
        "shut": (shut, graph.metric(shut).query_many(*ask)),
    }
    assert states["open"][1][:4] != states["shut"][1][:4]  # a stale answer would show
    stop, built = threading.Event(), {True: 0, False: 0}

    def rebuild() -> None:
        while not stop.is_set():
            built[metric.perfect()] += 1

    worker = threading.Thread(target=rebuild)
    worker.start()
    stale = 0
    try:
        for k in range(300):
            name = "shut" if k % 2 == 0 else "open"
            metric.update_weights(route, states[name][0][route])
            for _ in range(3):
                stale += not same_answer(graph, states[name][0], ask, metric.query_many(*ask), states[name][1])
    finally:
        stop.set()
        worker.join(timeout=60)
    assert stale == 0
    assert built[True] + built[False] > 0


def test_queries_from_four_threads_while_perfect_runs(graph: Graph):
    metric = graph.metric()
    asks = graph.asks(13, 150)
    expected = [metric.query_many(*a) for a in asks]
    stop = threading.Event()
    wrong: list[int] = []
    done = [0] * 4

    def work(k: int) -> None:
        while not stop.is_set():
            for ask, want in zip(asks, expected, strict=True):
                if not same_answer(graph, graph.weights, ask, metric.query_many(*ask), want):
                    wrong.append(k)
            done[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(5):
            metric.customize(graph.weights)  # drops the graphs: the next perfect() builds them again
            assert metric.perfect() is True
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert metric.is_perfect
    assert wrong == []
    assert all(d > 0 for d in done)
