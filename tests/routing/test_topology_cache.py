"""The search topologies are saved once (``hazmat graph build``) and loaded by every router after (issue #18)."""

from __future__ import annotations

import numpy as np

from hazmat.routing import metrics
from hazmat.routing.metrics import Metrics
from hazmat.routing.network import RoadNetwork
from tests.routing.test_route_cli import run
from tests.routing_helpers import CHENGDU


def test_prepared_topologies_are_the_ones_a_router_loads_and_they_answer_alike(chengdu_graph, tmp_path):
    saved = metrics.prepare(chengdu_graph, tmp_path)
    net = RoadNetwork(chengdu_graph)
    assert saved == [
        metrics.folder(net.tail, net.head, net.xs, net.ys, tmp_path),
        metrics.folder(net.head, net.tail, net.xs, net.ys, tmp_path),
    ]
    assert all((f / "order").is_file() for f in saved)
    stamps = [(f / "order").stat().st_mtime_ns for f in saved]
    loaded, built = Metrics(net, cache=tmp_path), Metrics(net)
    assert [(f / "order").stat().st_mtime_ns for f in saved] == stamps  # loaded, not built again
    nodes = np.arange(0, len(net.node_ids), 97, dtype=np.uint32)
    one = loaded.get("time", frozenset(), frozenset()).distances_many_to_many(nodes, nodes)
    other = built.get("time", frozenset(), frozenset()).distances_many_to_many(nodes, nodes)
    assert (one == other).all()
    assert loaded.potentials([(3, 0.0)], "time") == built.potentials([(3, 0.0)], "time")


def test_graph_build_saves_the_search_topologies(chengdu_graph, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = run("graph", "build", "--config", str(CHENGDU))
    assert result.exit_code == 0, result.output
    assert "search topologies" in result.stderr
    assert len(list((tmp_path / "hazmat-checker" / "cch").iterdir())) == 2


def test_a_warmed_router_answers_its_default_load_without_customising(chengdu, chengdu_graph):
    from hazmat.routing.router import Router
    from tests.routing.test_router import node_lonlat
    from tests.routing_helpers import request

    r = Router(chengdu_graph, chengdu, zones=[])
    r.warm(["C", "D"])
    assert r.metrics.settle()
    assert len(r.metrics) == 3  # unrestricted, and one class per code
    assert r.metrics._to_target  # the potentials, in the background
    before = r.metrics.counts["full"]
    found = r.plan(request(node_lonlat(r, 10), node_lonlat(r, 1500), un="UN1005", hazard_class="2.3"))  # code C
    assert found.status == "ok"
    assert r.metrics.counts["full"] == before
