"""The re-check's box test by runs of edges finds exactly the (zone, edge) pairs a test of every pair finds."""

from __future__ import annotations

import numpy as np

from hazmat.routing import recheck


def _boxes(rng: np.random.Generator, count: int, size: float) -> np.ndarray:
    x, y = rng.uniform(0, 10_000, count), rng.uniform(0, 10_000, count)
    w, h = rng.uniform(0, size, count), rng.uniform(0, size, count)
    return np.column_stack([x, y, x + w, y + h])


def test_edges_near_a_zone_by_runs_are_those_near_it_one_by_one():
    rng = np.random.default_rng(18)
    met = 0
    for count in (1, 5, recheck.CHUNK, recheck.CHUNK + 1, 700):
        # a route's edges follow each other: a random walk of small boxes, some touching a zone's edge exactly
        steps = np.cumsum(rng.uniform(-60, 60, (count, 2)), axis=0) + 5_000
        edges = np.column_stack([steps, steps + rng.uniform(0, 80, (count, 2))])
        zones = _boxes(rng, 200, 2_500)
        zones[0] = [edges[0, 2], edges[0, 3], edges[0, 2] + 10, edges[0, 3] + 10]  # touches the first edge's corner
        pairs = (
            (edges[:, None, 0] <= zones[None, :, 2])
            & (edges[:, None, 2] >= zones[None, :, 0])
            & (edges[:, None, 1] <= zones[None, :, 3])
            & (edges[:, None, 3] >= zones[None, :, 1])
        )
        expected = {z: np.flatnonzero(pairs[:, z]).tolist() for z in np.flatnonzero(pairs.any(axis=0)).tolist()}
        found = {z: near.tolist() for z, near in recheck._near(edges, zones)}
        assert found == expected
        assert list(found) == sorted(found)  # zones in order: the first violation is the one reported
        met += len(found)
    assert met > 20


def test_a_path_made_from_arrays_is_the_path_made_from_lists():
    """A path holds arrays and makes its lists when asked: the same path, lists of Python ints and floats."""
    from hazmat.routing.network import Path

    listed = Path(edges=[3, 1, 2], entry_s=[0.0, 1.5, 4.25], length_m=10.0, duration_s=6.0, start=0.5)
    arrayed = Path(
        edges=np.array([3, 1, 2]), entry_s=np.array([0.0, 1.5, 4.25]), length_m=10.0, duration_s=6.0, start=0.5
    )
    assert arrayed == listed
    assert arrayed.edges == [3, 1, 2]
    assert all(type(i) is int for i in arrayed.edges)
    assert arrayed.entry_s == [0.0, 1.5, 4.25]
    assert (arrayed.edge(2), arrayed.entry(1), arrayed.span(0), arrayed.span(2)) == (2, 1.5, (0.5, 1.0), (0.0, 1.0))
    assert arrayed != Path(edges=[3, 1, 2], entry_s=[0.0, 1.5, 4.25], length_m=10.0, duration_s=6.0)
