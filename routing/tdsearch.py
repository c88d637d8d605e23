"""The time-dependent search: exact when a zone opens or closes while the vehicle is on the way.

A label-setting search (A* when ``potential`` bounds the remaining cost) in which an edge is
closed or open at the moment the vehicle would enter it. Slower than the CCH (pure Python), so
the router asks it only when an applicable zone changes state within the trip.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

from .network import Path, RoadNetwork

#: ``blocked(edge, epoch_s)``: is the edge closed when entered at that moment
Blocked = Callable[[int, float], bool]


def search(
    net: RoadNetwork,
    src: int,
    dst: int,
    depart_s: float,
    weight: Sequence[float],
    blocked: Blocked,
    potential: Sequence[float] | None = None,
) -> Path | None:
    """The cheapest path by ``weight`` whose every edge is open when entered; ``None`` if there is none."""
    head, out, ttime = net.head, net.out, net.time
    h = potential if potential is not None else [0.0] * len(net.node_ids)
    best = {src: 0.0}
    at = {src: 0.0}
    pred: dict[int, int] = {}
    heap = [(h[src], src)]
    done: set[int] = set()
    while heap:
        _, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u == dst:
            break
        cost, t = best[u], at[u]
        for i in out[u]:
            v = head[i]
            if v in done or h[v] == math.inf or blocked(i, depart_s + t):
                continue
            c = cost + weight[i]
            if c < best.get(v, math.inf):
                best[v] = c
                at[v] = t + ttime[i]
                pred[v] = i
                heapq.heappush(heap, (c + h[v], v))
    if dst not in done:
        return None
    edges: list[int] = []
    node = dst
    while node != src:
        i = pred[node]
        edges.append(i)
        node = net.tail[i]
    edges.reverse()
    entry, t = [], 0.0
    for i in edges:
        entry.append(t)
        t += ttime[i]
    return Path(edges=edges, entry_s=entry, length_m=sum(net.length[i] for i in edges), duration_s=t)
