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
