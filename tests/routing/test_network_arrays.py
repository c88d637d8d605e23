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


def test_a_router_from_the_cached_arrays_answers_as_one_from_the_graph(chengdu, router, monkeypatch):
    """Also when it makes every line and vertex list per use, as a province's network does."""
    from hazmat.routing import network

    arrays = road_graph.load_network(chengdu)  # written beside the cached graph (made from it once)
    assert road_graph.arrays_path(road_graph.cache_path(chengdu)).is_file()
    assert arrays.derived  # the projected geometry and the hull saved: a worker reads them
    monkeypatch.setattr(network, "SMALL_ARCS", 0)
    compact = Router(arrays, chengdu)
    assert not compact.net.small
    assert router.net.small
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


def test_a_province_sized_snapping_grid_finds_the_same_nearest_points(chengdu_graph, monkeypatch, tmp_path):
    """Above ``SMALL`` segments the grid is held in arrays, its cells sized to the map: the same nearest points,
    also when the grid and the projected geometry are read back from the saved arrays instead of computed."""
    from hazmat.routing import snapping
    from hazmat.routing.network import RoadNetwork, with_derived

    arrays = NetworkArrays.from_graph(chengdu_graph)
    city_sized = RoadNetwork(arrays)
    monkeypatch.setattr(snapping, "SMALL", 0)
    with_derived(arrays).save(tmp_path / "net.npz")
    assert "grid_segs" in arrays.derived
    loaded = NetworkArrays.load(tmp_path / "net.npz")
    assert loaded.derived.keys() == arrays.derived.keys()
    province_sized = RoadNetwork(loaded)
    assert isinstance(province_sized.index._cells, snapping._Grid)
    assert np.array_equal(province_sized.metric_coords, city_sized.metric_coords)
    assert np.array_equal(province_sized.projected_bounds, city_sized.projected_bounds)
    assert province_sized.hull.equals_exact(city_sized.hull, 0.0)
    assert province_sized.index.cell > city_sized.index.cell
    rng = random.Random(7)
    (x0, y0), (x1, y1) = city_sized.node_xy.min(axis=0), city_sized.node_xy.max(axis=0)
    roads = len(city_sized.road_arcs)
    for _ in range(500):
        x, y = rng.uniform(x0 - 300, x1 + 300), rng.uniform(y0 - 300, y1 + 300)
        closed = frozenset(rng.sample(range(roads), 40))
        one, other = city_sized.index.nearest(x, y, closed), province_sized.index.nearest(x, y, closed)
        assert one is not None
        assert other is not None
        assert other.distance_m == one.distance_m
        assert (other.x, other.y) == (one.x, one.y) or one.distance_m == 0
        assert province_sized.index.locate(one.line, 0.4) == city_sized.index.locate(one.line, 0.4)


def test_load_classes_warmed_in_the_background_are_waited_for_not_customised_twice(chengdu, chengdu_graph):
    """``Router.warm(lazy_classes=True)``: ready after the unrestricted metric; a request of a class still warming
    waits for it, and gets the answer an eagerly warmed router gives, with as many customisations."""
    from tests.routing.test_router import node_lonlat

    eager, lazy = Router(chengdu_graph, chengdu, zones=[]), Router(chengdu_graph, chengdu, zones=[])
    eager.warm(["C", "D"])
    assert eager.metrics.settle()
    lazy.warm(["C", "D"], lazy_classes=True)
    code_c = request(node_lonlat(lazy, 10), node_lonlat(lazy, 1500), un="UN1005", hazard_class="2.3")
    found = lazy.plan(code_c)  # at once: the class may still be warming
    assert lazy.metrics.settle()
    assert found.status == "ok"
    assert found == eager.plan(code_c)
    assert len(lazy.metrics) == len(eager.metrics) == 3  # unrestricted, and one class per code
    assert lazy.metrics.counts == eager.metrics.counts
