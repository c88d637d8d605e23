"""A deterministic province-sized road graph (issue #18): a perturbed grid with road-like degrees and speeds.

About ``n`` nodes on a square grid 250 m apart (jittered ±80 m), so 1,000,000 nodes cover
about 250 × 250 km, the size of Shanxi or of the populated half of Heilongjiang. Every
40th row and column is a trunk road (80 km/h, capped like a city's fast roads), every 8th a
secondary (50 km/h), the rest residential or unclassified (30 km/h); 14 % of the local
streets are missing (dead ends, blocks) and 5 % are one-way, which gives about 3.3 arcs per
node as a real simplified OSM graph has. 0.3 % of the arcs are tunnels (categories B–E and
untagged) and 0.2 % ``hazmat=no``, so loads of different tunnel codes close different roads
(load classes). Only the strongly connected part around the centre is kept, as the graph
builder keeps the largest strongly connected component.

The arrays come first (``province_arrays``: numpy, seconds for a million nodes); ``as_graph``
turns them into the networkx graph the router reads, with the OSM tags set and the
restriction attributes marked by the registry as a real build marks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from hazmat.routing import restrictions
from hazmat.routing.arrays import NetworkArrays, _roads

#: grid spacing and jitter (metres)
SPACING_M = 250.0
JITTER_M = 80.0
#: south-west corner of the grid (lon/lat): central Shanxi
ORIGIN = (111.0, 36.0)
M_PER_DEG_LAT = 111_320.0


@dataclass
class ProvinceArrays:
    """The graph as arrays: node ``i`` at ``lon[i]``, ``lat[i]``; arc ``a`` from ``tail[a]`` to ``head[a]``."""

    lon: np.ndarray
    lat: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray  # str per arc
    kmh: np.ndarray
    tunnel: np.ndarray  # "" (no tunnel), "untagged" or B–E per arc
    hazmat_no: np.ndarray  # bool per arc

    @property
    def nodes(self) -> int:
        return len(self.lon)

    @property
    def arcs(self) -> int:
        return len(self.tail)


def _reach(start: int, tail: np.ndarray, head: np.ndarray, n: int) -> np.ndarray:
    """The nodes reachable from ``start`` over the arcs (breadth first, one numpy step per level)."""
    order = np.argsort(tail, kind="stable")
    heads = head[order]
    first = np.searchsorted(tail[order], np.arange(n + 1))
    seen = np.zeros(n, dtype=bool)
    seen[start] = True
    frontier = np.array([start])
    while len(frontier):
        lo, hi = first[frontier], first[frontier + 1]
        counts = hi - lo
        idx = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        nxt = np.unique(heads[idx])
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return seen


def province_arrays(n: int = 1_000_000, seed: int = 18) -> ProvinceArrays:
    """About ``n`` nodes (fewer after the strongly connected part is kept); the same for the same arguments."""
    rng = np.random.default_rng(seed)
    side = round(n**0.5)
    rows, cols = np.divmod(np.arange(side * side), side)
    x = cols * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)
    y = rows * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)

    def rank(line: np.ndarray) -> np.ndarray:  # 2 trunk, 1 secondary, 0 local, by row or column index
        return np.where(line % 40 == 0, 2, np.where(line % 8 == 0, 1, 0))

    node = np.arange(side * side).reshape(side, side)
    h_u, h_v = node[:, :-1].ravel(), node[:, 1:].ravel()  # east-west, along a row
    v_u, v_v = node[:-1, :].ravel(), node[1:, :].ravel()  # north-south, along a column
    u = np.concatenate([h_u, v_u])
    v = np.concatenate([h_v, v_v])
    level = np.concatenate([rank(rows[h_u]), rank(cols[v_u])])
    keep = (level > 0) | (rng.random(len(u)) > 0.14)
    u, v, level = u[keep], v[keep], level[keep]
    one_way = (level == 0) & (rng.random(len(u)) < 0.05)
    flip = rng.random(len(u)) < 0.5  # which way a one-way street runs
    a, b = np.where(flip, v, u), np.where(flip, u, v)
    tail = np.concatenate([a, b[~one_way]])
    head = np.concatenate([b, a[~one_way]])
    level = np.concatenate([level, level[~one_way]])
    centre = node[side // 2, side // 2]
    both = _reach(centre, tail, head, side * side) & _reach(centre, head, tail, side * side)
    kept = np.flatnonzero(both)
    renumber = np.full(side * side, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    inside = both[tail] & both[head]
    tail, head, level = renumber[tail[inside]], renumber[head[inside]], level[inside]
    x, y = x[kept], y[kept]
    length = np.hypot(x[head] - x[tail], y[head] - y[tail]) * 1.05  # roads are not quite straight
    lat = ORIGIN[1] + y / M_PER_DEG_LAT
    lon = ORIGIN[0] + x / (M_PER_DEG_LAT * np.cos(np.radians(lat)))
    local = rng.random(len(tail)) < 0.5
    highway = np.where(
        level == 2, "trunk", np.where(level == 1, "secondary", np.where(local, "residential", "unclassified"))
    )
    kmh = np.where(level == 2, 80.0, np.where(level == 1, 50.0, 30.0))
    tunnel = np.full(len(tail), "", dtype=object)
    is_tunnel = rng.random(len(tail)) < 0.003
    tunnel[is_tunnel] = rng.choice(np.array(["B", "C", "D", "E", "untagged"], dtype=object), int(is_tunnel.sum()))
    hazmat_no = (rng.random(len(tail)) < 0.002) & ~is_tunnel
    return ProvinceArrays(lon, lat, tail, head, length, highway, kmh, tunnel, hazmat_no)


def as_graph(arrays: ProvinceArrays) -> nx.MultiDiGraph:
    """The router's graph: OSM-like tags per arc and the restriction attributes marked by the registry."""
    # a provenance, as a built graph has: the router then caches its search topologies like a real graph's
    provenance = {"source": "bench_province_graph", "nodes": arrays.nodes, "arcs": arrays.arcs}
    graph = nx.MultiDiGraph(crs="epsg:4326", water_sources=[], city="province", provenance=provenance)
    graph.add_nodes_from(
        (i, {"x": x, "y": y}) for i, (x, y) in enumerate(zip(arrays.lon.tolist(), arrays.lat.tolist(), strict=True))
    )
    tunnels, hazmat_no = arrays.tunnel.tolist(), arrays.hazmat_no.tolist()
    edges = []
    for a, (u, v, length, highway, kmh) in enumerate(
        zip(
            arrays.tail.tolist(),
            arrays.head.tolist(),
            arrays.length_m.tolist(),
            arrays.highway.tolist(),
            arrays.kmh.tolist(),
            strict=True,
        )
    ):
        data = {"osmid": a, "highway": highway, "length": length, "speed_kph": kmh, "travel_time": length / (kmh / 3.6)}
        if tunnels[a]:
            data["tunnel"] = "yes"
            if tunnels[a] != "untagged":
                data["hazmat:adr_tunnel_cat"] = tunnels[a]
        if hazmat_no[a]:
            data["hazmat"] = "no"
        edges.append((u, v, data))
    graph.add_edges_from(edges)
    restrictions.mark_all(graph.edges(data=True))
    return graph


FIELDS = ("lon", "lat", "tail", "head", "length_m", "highway", "kmh", "tunnel", "hazmat_no")


def network_arrays(arrays: ProvinceArrays) -> NetworkArrays:
    """What ``hazmat graph build`` would cache for ``as_graph(arrays)`` (``NetworkArrays.from_graph``), made from
    the arrays directly: a million nodes' networkx graph takes minutes and gigabytes the bench need not spend."""
    tags = {"crs": "epsg:4326", "water_sources": [], "city": "province"}
    order = np.argsort(arrays.tail, kind="stable")  # networkx lists a node's arcs together, nodes in order
    arrays = ProvinceArrays(*(getattr(arrays, f) if f in ("lon", "lat") else getattr(arrays, f)[order] for f in FIELDS))
    provenance = {"source": "bench_province_graph", "nodes": arrays.nodes, "arcs": arrays.arcs}
    combos = np.rec.fromarrays(
        [arrays.highway.astype(str), arrays.kmh, arrays.tunnel.astype(str), arrays.hazmat_no],
        names="highway,kmh,tunnel,hazmat_no",
    )
    distinct, codes = np.unique(combos, return_inverse=True)
    attrs = []
    for highway, kmh, tunnel, hazmat_no in distinct.tolist():
        data: dict = {"highway": highway, "speed_kph": kmh}
        if tunnel:
            data["tunnel"] = "yes"
            if tunnel != "untagged":
                data["hazmat:adr_tunnel_cat"] = tunnel
        if hazmat_no:
            data["hazmat"] = "no"
        attrs.append(data)
    restrictions.mark_all((None, None, d) for d in attrs)
    ends = np.stack([arrays.tail, arrays.head], axis=1).ravel()  # each arc the straight line tail → head
    coords = np.column_stack([arrays.lon[ends], arrays.lat[ends]])
    offsets = np.arange(0, 2 * arrays.arcs + 1, 2, dtype=np.int64)
    road_of, forward = _roads(coords, offsets)
    return NetworkArrays(
        node_ids=np.arange(arrays.nodes),
        lon=arrays.lon.astype(float),
        lat=arrays.lat.astype(float),
        tail=arrays.tail.astype(np.int64),
        head=arrays.head.astype(np.int64),
        length=arrays.length_m.astype(float),
        time=arrays.length_m / (arrays.kmh / 3.6),
        coords=coords,
        offsets=offsets,
        attr_code=codes.astype(np.int32).ravel(),
        attrs=attrs,
        road_of=road_of,
        forward=forward,
        graph_attrs={**tags, "provenance": provenance},
    )
