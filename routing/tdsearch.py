"""The time-dependent search: exact when a zone opens or closes while the vehicle is on the way.

A label-setting search (A* when ``potential`` bounds the remaining cost) in which an edge is
closed or open at the moment the vehicle would enter it. Slower than the CCH (pure Python), so
the router asks it only when an applicable zone changes state within the trip.

It starts and stops mid-edge: each source :class:`End` enters the search at its node with the
cost and the time of its partial first arc (driven at departure), and each target end adds
its partial last arc, entered when the vehicle reaches its node; a partial arc closed at that
moment (``end_blocked``) is no way in or out.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

import numpy as np

from .network import End, Path, RoadNetwork

#: ``blocked(edge, epoch_s)``: is the edge closed when entered at that moment
Blocked = Callable[[int, float], bool]
#: ``end_blocked(end, epoch_s)``: is the end's partial arc closed when entered at that moment
EndBlocked = Callable[[End, float], bool]


def search(
    net: RoadNetwork,
    sources: Sequence[End],
    targets: Sequence[End],
    depart_s: float,
    weight: Sequence[float],
    blocked: Blocked,
    potential: Sequence[float] | None = None,
    end_blocked: EndBlocked | None = None,
) -> Path | None:
    """The cheapest path by ``weight`` from a source to a target whose every edge is open when entered.

    ``None`` if there is none. ``potential`` must bound from below the cost from each node to
    the nearest target, its partial arc included (``Metrics.potentials``).
    """
    head, out, ttime = net.head, net.out, net.time
    weights = np.asarray(weight)
    h = potential if potential is not None else [0.0] * len(net.node_ids)
    best: dict[int, float] = {}
    at: dict[int, float] = {}
    pred: dict[int, int] = {}
    source_of: dict[int, End] = {}
    heap: list[tuple[float, int]] = []
    for s in sources:
        if s.arc is not None and end_blocked is not None and end_blocked(s, depart_s):
            continue
        c = net.end_cost(s, weight)
        if c < best.get(s.node, math.inf):
            best[s.node], at[s.node], source_of[s.node] = c, net.end_cost(s, ttime), s
            heapq.heappush(heap, (c + h[s.node], s.node))
    stops: dict[int, list[End]] = {}
    for t in targets:
        stops.setdefault(t.node, []).append(t)
    answer, answer_node, answer_end = math.inf, -1, End(-1)
    done: set[int] = set()
    while heap:
        key, u = heapq.heappop(heap)
        if key >= answer:
            break  # every label left costs at least this much once it reaches a target
        if u in done:
            continue
        done.add(u)
        cost, t = best[u], at[u]
        for end in stops.get(u, ()):
            if end.arc is not None and end_blocked is not None and end_blocked(end, depart_s + t):
                continue
            total = cost + net.end_cost(end, weight)
            if total < answer:
                answer, answer_node, answer_end = total, u, end
        leaving = out[u]
        for i, v, w, tt in zip(
            leaving, head[leaving].tolist(), weights[leaving].tolist(), ttime[leaving].tolist(), strict=True
        ):
            if v in done or h[v] == math.inf or blocked(i, depart_s + t):
                continue
            c = cost + w
            if c < best.get(v, math.inf):
                best[v] = c
                at[v] = t + tt
                pred[v] = i
                source_of.pop(v, None)  # reached through the graph now, not from a source's own arc
                heapq.heappush(heap, (c + h[v], v))
    if answer_node < 0:
        return None
    edges: list[int] = []
    node = answer_node
    while node not in source_of:
        i = pred[node]
        edges.append(i)
        node = int(net.tail[i])
    edges.reverse()
    return net.join(source_of[node], edges, answer_end)
