"""A worker's router reads the road network's arrays from the cache, never the networkx graph (issue #18).

The arrays saved and loaded again must make the same router: the same arcs, tags, roads and
answers (snaps, routes, refusals) as a router built from the graph itself.
"""

from __future__ import annotations

import random

import numpy as np

from hazmat.routing import graph as road_graph
from hazmat.routing.arrays import NetworkArrays
from hazmat.routing.router import Router
from tests.routing_helpers import request


def test_saved_arrays_hold_the_graph_exactly(chengdu_graph, tmp_path):
    made = NetworkArrays.from_graph(chengdu_graph)
    made.save(tmp_path / "net.npz")
    loaded = NetworkArrays.load(tmp_path / "net.npz")
    assert loaded.arcs == chengdu_graph.number_of_edges()
    assert loaded.node_ids.tolist() == list(chengdu_graph.nodes)
    for name in (
        "lon",
        "lat",
        "tail",
        "head",
        "length",
        "time",
        "coords",
        "offsets",
        "attr_code",
        "road_of",
        "forward",
    ):
        assert np.array_equal(getattr(loaded, name), getattr(made, name)), name
    assert loaded.graph_attrs["provenance"] == chengdu_graph.graph["provenance"]
    for i, (_, _, data) in enumerate(chengdu_graph.edges(data=True)):
        tags = loaded.attrs[loaded.attr_code[i]]
        assert tags == {k: v for k, v in data.items() if k not in ("geometry", "length", "travel_time", "osmid")}
        geom = data.get("geometry")
        if geom is not None:
            assert loaded.coords[loaded.offsets[i] : loaded.offsets[i + 1]].tolist() == [list(p) for p in geom.coords]


def test_a_router_from_the_cached_arrays_answers_as_one_from_the_graph(chengdu, router):
    arrays = road_graph.load_network(chengdu)  # written beside the cached graph (made from it once)
    assert road_graph.arrays_path(road_graph.cache_path(chengdu)).is_file()
    compact = Router(arrays, chengdu)
    assert compact._graph is None  # never loaded the networkx graph
    assert compact.net.restricted == router.net.restricted
    assert compact.zone_edges == router.zone_edges
    rng = random.Random(18)
    xs, ys = router.net.xs, router.net.ys
    routed = 0
    for _ in range(40):
        o, d = rng.randrange(len(xs)), rng.randrange(len(xs))
        for at in ("2026-11-26T10:00:00+08:00", "2026-11-26T03:00:00+08:00"):
            r = request((xs[o] + 0.0004, ys[o] - 0.0003), (xs[d] - 0.0002, ys[d] + 0.0004), at=at)
            one, other = router.plan(r), compact.plan(r)
            assert one == other
            routed += one.status == "ok"
    assert routed > 20
