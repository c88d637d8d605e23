"""The first request in a state no metric holds (issue #18): the exact A* (``Metric.search``) against moving a metric.

A state nobody prepared (a zone going out of force, a zone set replaced, a departure beyond the horizon) costs a
partial customisation before its first search: ``copy()`` of a held metric whose weights are a lower bound of the
state's, then ``update_weights`` of the state's extra closed arcs. ``Metric.search`` answers that search without it,
on the held metric (its CCH potentials), exactly. Side by side in one run, on the cached synthetic province
(``bench_province.py`` part 2 builds it; its topology from ``~/.cache/hazmat-checker/cch``):

- states closing 20, 50, 100, 200 zones (discs of a few hundred arcs around random nodes, as the province bench's);
- two held lower bounds: the unrestricted metric (any state), and the state but its last zone (a zone coming
  into force: the metric of the state before);
- random 2×2 searches (both ends of an arc, a point on it, as ``bench_cch_query.py``): *local* ones 1–10 km
  either side of a closed zone, crossing it or skirting it, and *long* ones between random points of the province;
- for each: the A* (time from the call, the O(arcs) precondition check included; nodes settled), the plain
  ``query_many`` on the state customised, whose answer the A* must equal (pair, cost, distance), and once per
  state the partial customisation (copy + update_weights) from each lower bound.

    python benchmarks/bench_exact_search.py [--nodes 1000000] [--local 100] [--long 40]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat.paths import cache_root  # noqa: E402
from hazmat.routing import _cch  # noqa: E402
from hazmat.routing import metrics as metrics_module  # noqa: E402

INF = _cch.INF_WEIGHT
KM_LAT = 111.2  # km per degree of latitude


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(name: str, values: list[float]) -> str:
    return f"  {name:<50}{pct(values, 50):>9.1f}{pct(values, 95):>9.1f}{max(values):>9.1f}"


HEADER = f"  {'':<50}{'p50':>9}{'p95':>9}{'max':>9}"


class Province:
    """The cached province graph's arrays a search needs (read from the npz lazily: not its geometry)."""

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as f:
            self.tail, self.head = f["tail"], f["head"]
            self.lon, self.lat, self.time = f["lon"], f["lat"], f["time"]
        self.nodes, self.arcs = len(self.lon), len(self.tail)
        self.km_lon = KM_LAT * math.cos(math.radians(float(self.lat.mean())))
        self.by_lon = np.argsort(self.lon)
        self.sorted_lon = self.lon[self.by_lon]
        self.by_tail = np.argsort(self.tail, kind="stable")
        self.first_out = np.searchsorted(self.tail[self.by_tail], np.arange(self.nodes + 1))

    def nearest(self, lon: float, lat: float) -> int:
        """The node nearest a point (among those within 0.05° of longitude: the graph is dense)."""
        lo, hi = np.searchsorted(self.sorted_lon, [lon - 0.05, lon + 0.05])
        near = self.by_lon[lo:hi]
        if len(near) == 0:
            near = self.by_lon
        d = ((self.lon[near] - lon) * self.km_lon) ** 2 + ((self.lat[near] - lat) * KM_LAT) ** 2
        return int(near[np.argmin(d)])

    def km(self, a: int, b: int) -> float:
        return math.hypot((self.lon[a] - self.lon[b]) * self.km_lon, (self.lat[a] - self.lat[b]) * KM_LAT)

    def zone(self, rng: random.Random) -> tuple[int, float, np.ndarray]:
        """A disc around a random node holding 60–160 nodes: its centre, radius (km) and arcs (an end inside)."""
        centre = rng.randrange(self.nodes)
        d = np.hypot((self.lon - self.lon[centre]) * self.km_lon, (self.lat - self.lat[centre]) * KM_LAT)
        count = rng.randint(60, 160)
        radius = float(np.partition(d, count)[count])
        inside = d < radius
        return centre, radius, np.flatnonzero(inside[self.tail] | inside[self.head]).astype(np.uint32)

    def end(self, node: int, rng: random.Random) -> tuple[list[int], list[float]]:
        """A point on an arc out of ``node``: both ends of the arc, with the cost of reaching each (seconds)."""
        first, end = int(self.first_out[node]), int(self.first_out[node + 1])
        a = int(self.by_tail[rng.randrange(first, end)]) if end > first else int(np.flatnonzero(self.head == node)[0])
        f, cost = rng.random(), float(self.time[a])
        return [int(self.head[a]), int(self.tail[a])], [(1 - f) * cost, f * cost]


def local_searches(net: Province, zones: list, rng: random.Random, count: int) -> list[tuple]:
    """``count`` searches 1–10 km either side of a closed zone: through its centre or passing its edge."""
    out = []
    for _ in range(count):
        centre, radius, _arcs = zones[rng.randrange(len(zones))]
        angle = rng.uniform(0, 2 * math.pi)
        aside = rng.choice([0.0, rng.uniform(0.6, 1.4)]) * radius  # crossing, or skirting its edge
        ends = []
        for sign in (1, -1):
            reach = radius + rng.uniform(1, 10)
            x = sign * reach * math.cos(angle) - aside * math.sin(angle)
            y = sign * reach * math.sin(angle) + aside * math.cos(angle)
            ends.append(net.nearest(net.lon[centre] + x / net.km_lon, net.lat[centre] + y / KM_LAT))
        (s, sc), (t, tc) = net.end(ends[0], rng), net.end(ends[1], rng)
        out.append((s, sc, t, tc))
    return out


def long_searches(net: Province, rng: random.Random, count: int) -> list[tuple]:
    out = []
    for _ in range(count):
        (s, sc), (t, tc) = net.end(rng.randrange(net.nodes), rng), net.end(rng.randrange(net.nodes), rng)
        out.append((s, sc, t, tc))
    return out


def moved(metric: _cch.Metric, arcs: np.ndarray) -> tuple[_cch.Metric, float]:
    """A copy of ``metric`` with ``arcs`` closed (partial customisation), and how long that took (ms)."""
    t = time.perf_counter()
    out = metric.copy()
    out.update_weights(arcs, np.full(len(arcs), INF, dtype=np.uint32))
    return out, (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--local", type=int, default=100, help="local searches per state")
    parser.add_argument("--long", type=int, default=40, help="long searches per state")
    parser.add_argument("--states", default="20,50,100,200", help="zones closed in each state")
    args = parser.parse_args()
    path = cache_root() / "graphs" / f"bench-province-{args.nodes}-{args.seed}.npz"
    if not path.is_file():
        sys.exit(f"{path}: run benchmarks/bench_province.py --skip 1,1b,3 --router-nodes {args.nodes} first")
    t = time.perf_counter()
    net = Province(path)
    topology = metrics_module.topology(net.tail, net.head, net.lon, net.lat, cache_root() / "cch")
    print(f"{net.nodes:,} nodes, {net.arcs:,} arcs; arrays and topology loaded in {time.perf_counter() - t:.1f} s")
    weights = np.maximum(1, np.round(net.time * 1000)).astype(np.uint32)  # ms, as routing/metrics.py
    t = time.perf_counter()
    free = _cch.Metric(topology)
    free.customize(weights)
    print(f"  the unrestricted metric customised (serial) in {time.perf_counter() - t:.1f} s")
    rng = random.Random(args.seed)
    zones = [net.zone(rng) for _ in range(max(int(n) for n in args.states.split(",")))]
    sizes = [len(z[2]) for z in zones]
    print(
        f"  {len(zones)} zones: {statistics.median(sizes):.0f} arcs each (median), {min(sizes)}–{max(sizes)}; "
        f"radius {statistics.median(z[1] for z in zones):.2f} km (median)"
    )

    stats: dict = {}
    t = time.perf_counter()
    free.search(weights, [0], [0.0], [1], [0.0], stats=stats)
    print(
        f"  the first search of the topology (its input arcs by tail and by head built): {time.perf_counter() - t:.2f} s"
    )
    free.search(weights, [0], [0.0], [1], [0.0], stats=stats)
    print(f"  a search's precondition check (every arc's weight >= the metric's): {stats['check_s'] * 1000:.2f} ms")

    all_ms: dict[str, list[float]] = {"unrestricted": [], "state before": []}
    wrong = 0
    for count in (int(n) for n in args.states.split(",")):
        state_zones = zones[:count]
        closed = np.unique(np.concatenate([z[2] for z in state_zones]))
        before = np.unique(np.concatenate([z[2] for z in state_zones[:-1]]))
        state_weights = weights.copy()
        state_weights[closed] = INF
        customised, from_free_ms = moved(free, closed)
        previous, _ = moved(free, before)
        _, from_previous_ms = moved(previous, np.setdiff1d(closed, before))
        print(
            f"\n== a state closing {count} zones ({len(closed):,} arcs) ==\n"
            f"  partial customisation (copy + update_weights): from the unrestricted metric {from_free_ms:.0f} ms, "
            f"from the state before its last zone {from_previous_ms:.0f} ms"
        )
        print(f"  {'ms':<50}{'p50':>9}{'p95':>9}{'max':>9}")
        for kind, searches in (
            ("local", local_searches(net, state_zones, rng, args.local)),
            ("long", long_searches(net, rng, args.long)),
        ):
            query_ms: list[float] = []
            km = [net.km(s[0][0], s[2][0]) for s in searches]
            wants = []
            for s, sc, d, dc in searches:
                t = time.perf_counter()
                wants.append(customised.query_many(s, sc, d, dc))
                query_ms.append((time.perf_counter() - t) * 1000)
            print(row(f"{kind} ({statistics.median(km):.0f} km median): query_many, state customised", query_ms))
            for name, lower in (("unrestricted", free), ("state before", previous)):
                ms, settled = [], []
                for (s, sc, d, dc), want in zip(searches, wants, strict=True):
                    t = time.perf_counter()
                    got = lower.search(state_weights, s, sc, d, dc, stats=stats)
                    ms.append((time.perf_counter() - t) * 1000)
                    settled.append(stats["settled"])
                    wrong += got[:4] != want[:4]
                all_ms[name] += ms
                print(row(f"{kind}: A* from the {name} metric", ms))
                print(
                    f"  {'':<50}settled nodes p50 {pct(settled, 50):,.0f}, p95 {pct(settled, 95):,.0f}, "
                    f"max {max(settled):,.0f}"
                )
        del customised, previous
    print()
    for name, ms in all_ms.items():
        print(
            f"A* from the {name} metric, every state and search: p50 {pct(ms, 50):.1f} ms, p95 {pct(ms, 95):.1f} ms, "
            f"max {max(ms):.1f} ms, over 100 ms {sum(v > 100 for v in ms)} of {len(ms)}"
        )
    total = sum(len(ms) for ms in all_ms.values())
    print(f"answers differing from query_many on the customised state (pair, cost or distance): {wrong} of {total}")


if __name__ == "__main__":
    main()
