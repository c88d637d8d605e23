"""Nearest point on a road to a point: a uniform grid over the roads' projected segments.

Routers snap to the nearest *road*, not the nearest node (GraphHopper's and Valhalla's
edge snapping): a point beside a long street belongs on that street, mid-segment, not at a
crossing 300 m away. Each straight segment of each road is filed in every grid cell it
crosses (a conservative test: the cell's centre within half a diagonal of the segment).
A query looks at the cells around the point, ring by ring, skipping roads the caller
excludes (closed to the load), and stops as soon as the best point found is nearer than
anything outside the scanned square can be: exact, and a handful of cells in a city.
Beyond ``MAX_RINGS`` rings (a point far from every usable road) one vectorised scan of
every segment decides.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import shapely

#: cell side in metres: a ring holds a handful of segments in a city centre
CELL_M = 50.0
#: rings searched before the full scan (12 × 50 m: beyond the default max_snap_m of 500 m)
MAX_RINGS = 12
#: above this many segments (a province, not a city) the index is held in arrays, its cells about one per segment
SMALL = 100_000


@dataclass(frozen=True)
class Nearest:
    """The nearest point of a line: which line, where along it, how far, and the point itself."""

    line: int
    fraction: float  # along the line from its first vertex, 0 … 1 of its length
    distance_m: float
    x: float
    y: float


class SegmentIndex:
    """Exact nearest point among polylines (``lines``: an array of shapely LineStrings, in metres)."""

    def __init__(self, lines: np.ndarray, cell_m: float = CELL_M) -> None:
        xy, owner = shapely.get_coordinates(lines, return_index=True)
        self._build(xy, owner, len(lines), cell_m)

    @classmethod
    def of_points(
        cls,
        xy: np.ndarray,
        owner: np.ndarray,
        lines: int,
        cell_m: float = CELL_M,
        grid: dict[str, np.ndarray] | None = None,
    ) -> SegmentIndex:
        """The index of ``lines`` polylines given as their vertices in order (``owner``: each vertex's line).

        ``grid``: the cells of a large index saved before (:meth:`grid_arrays` of the same lines), not filed again.
        """
        index = cls.__new__(cls)
        index._build(xy, owner, lines, cell_m, grid)
        return index

    def grid_arrays(self) -> dict[str, np.ndarray]:
        """A large index's cells, to save (empty for a city's: it is filed in a fraction of a second)."""
        if not isinstance(self._cells, _Grid):
            return {}
        g = self._cells
        return {
            "grid_box": np.array([g.x0, g.y0, g.nx, g.ny], dtype=np.int64),
            "grid_cell": np.array([self.cell]),
            "grid_start": np.asarray(g.start),
            "grid_segs": np.asarray(g.segs),
        }

    def _build(
        self, xy: np.ndarray, owner: np.ndarray, lines: int, cell_m: float, grid: dict[str, np.ndarray] | None = None
    ) -> None:
        if not lines:
            msg = "SegmentIndex needs at least one road: build the router from a graph with edges"
            raise ValueError(msg)
        same = owner[1:] == owner[:-1]  # consecutive vertices of one line make a segment
        a, b, self.owner_array = xy[:-1][same], xy[1:][same], owner[:-1][same]
        d = b - a
        seg = np.hypot(d[:, 0], d[:, 1])
        first = np.searchsorted(self.owner_array, np.arange(lines + 1))
        total = np.concatenate([[0.0], np.cumsum(seg)])
        cum0 = total[:-1] - total[first[:-1]][self.owner_array]  # along its line, where each segment starts
        len2 = (d**2).sum(axis=1)
        small = len(a) <= SMALL
        # a city's per-segment values as Python lists (the fastest to read); a province's as memoryviews of
        # its arrays (each read makes a Python number, nothing is held per segment)
        held: Any = (lambda v: v.tolist()) if small else (lambda v: memoryview(np.ascontiguousarray(v)))
        #: each line's first segment (and, at ``first[i + 1]``, one past its last)
        self.first = held(first)
        self.length = held(total[first[1:]] - total[first[:-1]])  # each line's length
        self.ax, self.ay, self.dx, self.dy = held(a[:, 0]), held(a[:, 1]), held(d[:, 0]), held(d[:, 1])
        self.len2, self.owner, self.cum0 = held(len2), held(self.owner_array), held(cum0)
        #: per segment (ax, ay, dx, dy, length², line): one unpacking in the query loop
        self._segments: Any = (
            list(zip(self.ax, self.ay, self.dx, self.dy, self.len2, self.owner, strict=True))
            if small
            else _Segments(self.ax, self.ay, self.dx, self.dy, self.len2, self.owner)
        )
        self._a, self._d, self._len2 = a, d, len2
        if small:
            self.cell = cell_m
        elif grid:
            self.cell = float(grid["grid_cell"][0])
            self._cells: Any = _Grid.restore(grid["grid_box"].tolist(), grid["grid_start"], grid["grid_segs"])
            return
        else:  # about one cell per segment over the map's box (a province's roads are sparse next to a city's)
            width, height = np.ptp(xy[:, 0]), np.ptp(xy[:, 1])
            self.cell = max(cell_m, math.sqrt(max(width * height, 1.0) / len(a)))
        self._cells = self._file(a, b, grid=not small)

    def _file(self, a: np.ndarray, b: np.ndarray, *, grid: bool = False) -> Any:
        """Every cell each segment may cross, one vectorised pass (a superset is fine: still exact).

        A dict of cell → segments, or (``grid``) a :class:`_Grid` of arrays for a large map.
        """
        cell = self.cell
        lo = np.floor(np.minimum(a, b) / cell).astype(np.int64)
        hi = np.floor(np.maximum(a, b) / cell).astype(np.int64)
        span = hi - lo + 1
        counts = span[:, 0] * span[:, 1]
        seg = np.repeat(np.arange(len(a)), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = lo[seg, 0] + local % span[seg, 0]
        cy = lo[seg, 1] + local // span[seg, 0]
        centre = np.column_stack([(cx + 0.5) * cell, (cy + 0.5) * cell])
        keep = _distances(centre, a[seg], b[seg] - a[seg]) <= cell * math.sqrt(0.5) + 1e-6
        seg, cx, cy = seg[keep], cx[keep], cy[keep]
        order = np.lexsort((seg, cy, cx))
        seg, cx, cy = seg[order], cx[order], cy[order]
        if grid:
            return _Grid(cx, cy, seg)
        breaks = np.flatnonzero((np.diff(cx) != 0) | (np.diff(cy) != 0)) + 1
        bounds = np.concatenate([[0], breaks, [len(seg)]]).tolist()
        segs, xs, ys = seg.tolist(), cx.tolist(), cy.tolist()
        return {(xs[s], ys[s]): tuple(segs[s:e]) for s, e in pairwise(bounds)}

    def nearest(self, x: float, y: float, skip: Collection[int] = ()) -> Nearest | None:
        """The nearest point on a line not in ``skip``; ``None`` when every line is skipped.

        After scanning the square of cells within ``r`` rings of the point's cell, a segment
        filed in none of them lies wholly outside the square, so it is at least as far as
        the square's nearest side: once the best point is nearer than that, it is the nearest.
        A cell of the ring farther than the best point so far is not opened.
        """
        cell, cells, segments = self.cell, self._cells, self._segments
        cx, cy = math.floor(x / cell), math.floor(y / cell)
        fx, fy = x - cx * cell, y - cy * cell  # the point within its cell, 0 … cell
        best, best_s, best_t = math.inf, -1, 0.0
        for r in range(MAX_RINGS + 1):
            for ox in range(-r, r + 1):
                gx = fx - (ox + 1) * cell if ox < 0 else ox * cell - fx if ox > 0 else 0.0  # x gap to the cell
                for oy in range(-r, r + 1) if abs(ox) == r else (-r, r):
                    gy = fy - (oy + 1) * cell if oy < 0 else oy * cell - fy if oy > 0 else 0.0
                    if gx * gx + gy * gy >= best:
                        continue  # the whole cell is farther than the best point so far
                    for s in cells.get((cx + ox, cy + oy), ()):
                        ax, ay, sx, sy, len2, owner = segments[s]
                        if skip and owner in skip:
                            continue
                        px, py = x - ax, y - ay
                        t = (px * sx + py * sy) / len2 if len2 > 0 else 0.0
                        t = 0.0 if t < 0 else 1.0 if t > 1 else t
                        ex, ey = px - t * sx, py - t * sy
                        d2 = ex * ex + ey * ey
                        if d2 < best:
                            best, best_s, best_t = d2, s, t
            margin = min(x - (cx - r) * cell, (cx + r + 1) * cell - x, y - (cy - r) * cell, (cy + r + 1) * cell - y)
            if best <= margin * margin:
                return self._result(best_s, best_t, best)
        return self._scan(x, y, skip)

    def _scan(self, x: float, y: float, skip: Collection[int]) -> Nearest | None:
        """Every segment at once (a point far from every usable road: rare)."""
        p = np.array([x, y]) - self._a
        t = np.clip(np.einsum("ij,ij->i", p, self._d) / np.where(self._len2 > 0, self._len2, 1.0), 0.0, 1.0)
        d2 = ((p - t[:, None] * self._d) ** 2).sum(axis=1)
        if skip:
            d2[np.isin(self.owner_array, np.fromiter(skip, dtype=np.int64))] = np.inf
        s = int(np.argmin(d2))
        if not math.isfinite(d2[s]):
            return None
        return self._result(s, float(t[s]), float(d2[s]))

    def _result(self, s: int, t: float, d2: float) -> Nearest:
        line = self.owner[s]
        along = self.cum0[s] + t * math.sqrt(self.len2[s])
        total = self.length[line]
        fraction = min(1.0, along / total) if total > 0 else 0.0
        if t == 1.0 and s == self.first[line + 1] - 1:
            fraction = 1.0  # the line's last vertex exactly: no rounding short of it
        return Nearest(
            line=line,
            fraction=fraction,
            distance_m=math.sqrt(d2),
            x=self.ax[s] + t * self.dx[s],
            y=self.ay[s] + t * self.dy[s],
        )

    def locate(self, line: int, fraction: float) -> tuple[int, float]:
        """The segment of ``line`` (its index within the line) holding ``fraction``, and where on it (0 … 1)."""
        first, last = self.first[line], self.first[line + 1]
        along = fraction * self.length[line]
        s = max(first, min(last - 1, bisect_right(self.cum0, along, first, last) - 1))
        seg = math.sqrt(self.len2[s])
        t = min(1.0, max(0.0, (along - self.cum0[s]) / seg)) if seg > 0 else 0.0
        if fraction >= 1.0:
            s, t = last - 1, 1.0
        return s - first, t


class _Grid:
    """Cell → segments over a dense box of cells, as arrays (CSR): ``get`` as a dict's, nothing per cell held."""

    def __init__(self, cx: np.ndarray, cy: np.ndarray, seg: np.ndarray) -> None:
        self.x0, self.y0 = (int(cx.min()), int(cy.min())) if len(cx) else (0, 0)
        self.nx = int(cx.max()) - self.x0 + 1 if len(cx) else 0
        self.ny = int(cy.max()) - self.y0 + 1 if len(cy) else 0
        key = (cx - self.x0) * self.ny + (cy - self.y0)  # ascending: filed by cx, then cy
        self.start = memoryview(np.searchsorted(key, np.arange(self.nx * self.ny + 1)).astype(np.int64))
        self.segs = memoryview(seg.astype(np.int64))

    @classmethod
    def restore(cls, box: list[int], start: np.ndarray, segs: np.ndarray) -> _Grid:
        grid = cls.__new__(cls)
        grid.x0, grid.y0, grid.nx, grid.ny = box
        grid.start, grid.segs = memoryview(np.ascontiguousarray(start)), memoryview(np.ascontiguousarray(segs))
        return grid

    def get(self, cell: tuple[int, int], default: Any = ()) -> Any:
        x, y = cell[0] - self.x0, cell[1] - self.y0
        if 0 <= x < self.nx and 0 <= y < self.ny:
            k = x * self.ny + y
            return self.segs[self.start[k] : self.start[k + 1]]
        return default


class _Segments:
    """``segments[s]``: (ax, ay, dx, dy, length², line) of segment ``s``, read from the arrays when asked."""

    def __init__(self, *columns: Any) -> None:
        self.columns = columns

    def __getitem__(self, s: int) -> tuple[Any, ...]:
        return tuple(c[s] for c in self.columns)


def _distances(p: np.ndarray, a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Distance from each point ``p[i]`` to the segment ``a[i]`` → ``a[i] + d[i]``."""
    len2 = (d**2).sum(axis=1)
    t = np.clip(((p - a) * d).sum(axis=1) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    return np.hypot(*(p - a - t[:, None] * d).T)
