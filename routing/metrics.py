"""Customizable contraction hierarchies (RoutingKit's CCH via pyroutingkit): the fast searches.

One topology per graph. A *metric* is the topology customised with arc weights (travel time in
ms or length in mm; a closed arc gets ``INF_WEIGHT``): one per set of closed edges in use,
kept in a small LRU. A second, reversed topology customised once with weights rounded down
gives the time-dependent search its A* potentials (a lower bound, so admissible and consistent).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pyroutingkit

from .network import RoadNetwork

#: customised metrics kept per router (one per restriction set in use)
METRIC_CACHE = 64
INF = pyroutingkit.INF_WEIGHT


def _topology(tail: list[int], head: list[int], xs: list[float], ys: list[float]) -> Any:
    """A contraction-hierarchy topology of the arcs tail[i] → head[i] (nested dissection on the coordinates)."""
    topology = pyroutingkit.CCHTopology()
    topology.build(
        np.array(tail, dtype=np.uint32),
        np.array(head, dtype=np.uint32),
        np.array(ys, dtype=np.float32),
        np.array(xs, dtype=np.float32),
        len(xs),
    )
    return topology


class Metrics:
    def __init__(self, net: RoadNetwork, cache_size: int = METRIC_CACHE) -> None:
        self.net = net
        self.cache_size = cache_size
        self._cch = _topology(net.tail, net.head, net.xs, net.ys)
        self._weights = {
            "time": np.maximum(1, np.round(net.time_array * 1000)).astype(np.uint32),  # ms
            "distance": np.maximum(1, np.round(net.length_array * 1000)).astype(np.uint32),  # mm
        }
        self._reverse = _topology(net.head, net.tail, net.xs, net.ys)
        self._to_target: dict[str, Any] = {}
        self._metrics: dict[tuple[Hashable, ...], Any] = {}

    def clear(self) -> None:
        self._metrics.clear()

    def get(self, kind: str, key: tuple[Hashable, ...], closing: Callable[[], frozenset[int]]) -> Any:
        """The customised metric for ``key``; ``closing`` gives its closed edges, asked only on a cache miss."""
        metric = self._metrics.get((kind, *key))
        if metric is None:
            weights = self._weights[kind].copy()
            closed = closing()
            if closed:
                weights[np.fromiter(closed, dtype=np.int64)] = INF
            metric = pyroutingkit.CCHMetric(self._cch)
            metric.customize(weights)
            if len(self._metrics) >= self.cache_size:
                self._metrics.pop(next(iter(self._metrics)))
            self._metrics[(kind, *key)] = metric
        return metric

    def potentials(self, targets: Sequence[tuple[int, float]], kind: str) -> list[float]:
        """A lower bound of the cost from every node to the nearest of ``targets`` (node, cost still to go there).

        Seconds or metres; inf: no target reachable. The minimum over the targets of a lower
        bound to each is a lower bound to the nearest, and stays consistent.
        """
        metric = self._to_target.get(kind)
        if metric is None:
            scale = self.net.time_array if kind == "time" else self.net.length_array
            metric = self._to_target[kind] = pyroutingkit.CCHMetric(self._reverse)
            metric.customize(np.floor(scale * 1000).astype(np.uint32))
        nodes = np.array([node for node, _ in targets], dtype=np.uint32)
        found = metric.distances_many_to_many(nodes, self.net.all_nodes)
        bound = found.astype(float) / 1000
        bound[found >= INF] = math.inf
        bound += np.array([[extra] for _, extra in targets])
        return bound.min(axis=0).tolist()
