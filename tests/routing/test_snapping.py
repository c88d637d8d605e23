"""The segment index finds the same nearest point as a brute-force shapely scan, near the roads and far."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from hazmat.routing.snapping import CELL_M, MAX_RINGS, SegmentIndex


def _lines(rng: np.random.Generator) -> np.ndarray:
    """Random polylines: many short ones in a 3 km square, a few long ones far apart (the rings run out)."""
    lines = []
    for _ in range(600):
        start = rng.uniform(0, 3000, size=2)
        steps = rng.normal(0, 80, size=(rng.integers(1, 5), 2))
        lines.append(LineString(np.vstack([start, start + np.cumsum(steps, axis=0)])))
    for _ in range(10):
        lines.append(LineString(rng.uniform(-20000, 20000, size=(2, 2))))
    return np.array(lines, dtype=object)


def test_the_index_agrees_with_a_brute_force_scan() -> None:
    rng = np.random.default_rng(3)
    lines = _lines(rng)
    index = SegmentIndex(lines)
    skip = set(rng.choice(len(lines), size=60, replace=False).tolist())
    kept = np.array([i for i in range(len(lines)) if i not in skip])
    far = 0
    points = rng.uniform(-25000, 25000, size=(300, 2)).tolist() + rng.uniform(0, 3000, size=(700, 2)).tolist()
    for x, y in points:
        p = shapely.Point(x, y)
        for excluded, candidates in (((), np.arange(len(lines))), (skip, kept)):
            found = index.nearest(x, y, excluded)
            assert found is not None
            distances = shapely.distance(lines[candidates], p)
            assert found.distance_m == pytest.approx(float(distances.min()), abs=1e-6)
            assert found.line not in excluded
            line = lines[found.line]
            assert found.fraction == pytest.approx(
                shapely.line_locate_point(line, shapely.Point(found.x, found.y), normalized=True), abs=1e-9
            )
            assert shapely.distance(line, shapely.Point(found.x, found.y)) == pytest.approx(0, abs=1e-6)
            far += found.distance_m > CELL_M * MAX_RINGS
    assert far > 0  # the full scan was exercised


def test_a_point_on_a_vertex_lands_on_it_at_distance_zero() -> None:
    lines = np.array([LineString([(0, 0), (100, 0), (100, 100)]), LineString([(500, 500), (600, 500)])], dtype=object)
    index = SegmentIndex(lines)
    for (x, y), (line, fraction) in (
        ((0, 0), (0, 0.0)),
        ((100, 0), (0, 0.5)),
        ((100, 100), (0, 1.0)),
        ((600, 500), (1, 1.0)),
    ):
        found = index.nearest(x, y)
        assert (found.line, found.fraction, found.distance_m) == (line, fraction, 0.0)


def test_locate_gives_the_segment_and_the_place_on_it() -> None:
    index = SegmentIndex(np.array([LineString([(0, 0), (100, 0), (100, 300)])], dtype=object))
    assert index.locate(0, 0.0) == (0, 0.0)
    assert index.locate(0, 0.125) == (0, 0.5)
    assert index.locate(0, 0.625) == (1, pytest.approx(0.5))
    assert index.locate(0, 1.0) == (1, 1.0)


def test_every_line_skipped_finds_nothing() -> None:
    index = SegmentIndex(np.array([LineString([(0, 0), (1, 0)])], dtype=object))
    assert index.nearest(5, 5, {0}) is None
    assert index.nearest(5e5, 5e5, {0}) is None  # beyond the rings: the scan says so too


def test_an_empty_graph_is_refused_with_a_fix() -> None:
    with pytest.raises(ValueError, match="at least one road"):
        SegmentIndex(np.array([], dtype=object))
