"""The snapping grid finds the same node as a full scan, near the roads and far from them."""

from __future__ import annotations

import numpy as np
import pytest

from hazmat.routing.snapping import CELL_M, MAX_RINGS, NodeGrid


def _scan(xy: np.ndarray, x: float, y: float) -> float:
    return float(np.sqrt(((xy - (x, y)) ** 2).sum(axis=1)).min())


def test_the_grid_agrees_with_a_full_scan() -> None:
    rng = np.random.default_rng(3)
    dense = rng.uniform(0, 3000, size=(2000, 2))
    sparse = rng.uniform(-20000, 20000, size=(30, 2))  # a few nodes far apart: rings run out, the scan decides
    xy = np.vstack([dense, sparse])
    grid = NodeGrid(xy)
    far_points = 0
    for x, y in rng.uniform(-25000, 25000, size=(500, 2)).tolist() + rng.uniform(0, 3000, size=(500, 2)).tolist():
        i, d = grid.nearest(x, y)
        assert d == pytest.approx(_scan(xy, x, y))
        assert d == pytest.approx(float(np.hypot(*(xy[i] - (x, y)))))
        far_points += d > CELL_M * MAX_RINGS
    assert far_points > 0  # the fallback was exercised


def test_a_point_on_a_node_snaps_to_it_at_distance_zero() -> None:
    xy = np.array([[0.0, 0.0], [59.9, 0.0], [60.0, 60.0], [-0.1, -0.1]])
    grid = NodeGrid(xy)
    for k, (x, y) in enumerate(xy.tolist()):
        assert grid.nearest(x, y) == (k, 0.0)


def test_an_empty_graph_is_refused_with_a_fix() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        NodeGrid(np.empty((0, 2)))
