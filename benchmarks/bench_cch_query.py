"""One route search on the CCH, before and after our binding (issue #18), side by side in one process.

A search of ``Router._cheapest`` with a two-way street at both ends has two sources and two targets,
each with its partial arc's cost. Before (pyroutingkit 0.2, as ``main`` ran it): the 2×2 distance table
(one elimination-tree run per source) then the point-to-point query of the best pair, three runs, the GIL
held. After (``hazmat.routing._cch``): one ``query_many``. Both on the same cached topology of the
synthetic province (``bench_province.py`` part 2 builds it) and the same weights, alternating request by
request so both see the same machine; then 1×1 searches, then two threads at once (the GIL released).
Last, the perfect customisation (``Metric.perfect``): its build time and memory, and ``query_many`` on the
basic metric against the same metric made perfect, on the same searches, alternating.

    python benchmarks/bench_cch_query.py [--nodes 1000000] [--searches 2000]

pyroutingkit is no project dependency any more: ``pip install pyroutingkit==0.2.1`` into the venv for the
before (without it, only the after is measured).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat.paths import cache_root  # noqa: E402
from hazmat.routing import _cch  # noqa: E402
from hazmat.routing import metrics as metrics_module  # noqa: E402
from hazmat.routing.arrays import NetworkArrays  # noqa: E402

INF = _cch.INF_WEIGHT


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(name: str, ms: list[float]) -> str:
    return f"  {name:<58} {pct(ms, 50):8.3f} {pct(ms, 95):8.3f} {statistics.fmean(ms):8.3f}"


def before(metric, sources, s_cost, targets, t_cost) -> tuple[float, list[int]]:
    """``main``'s ``_cheapest``: the distance table, then the best pair's path (one query alone for 1×1)."""
    if len(sources) == 1 and len(targets) == 1:
        distance, _nodes, arcs = metric.query(sources[0], targets[0])
        return (s_cost[0] + distance / 1000 + t_cost[0], list(arcs)) if distance < INF else (float("inf"), [])
    table = metric.distances_many_to_many(
        np.array(sources, dtype=np.uint32), np.array(targets, dtype=np.uint32)
    ).tolist()
    best, pair = float("inf"), None
    for i in range(len(sources)):
        for j in range(len(targets)):
            if table[i][j] < INF:
                cost = s_cost[i] + table[i][j] / 1000 + t_cost[j]
                if cost < best:
                    best, pair = cost, (i, j)
    if pair is None:
        return best, []
    return best, list(metric.query(sources[pair[0]], targets[pair[1]])[2])


def after(metric, sources, s_cost, targets, t_cost) -> tuple[float, list[int]]:
    cost, _distance, _i, _j, arcs = metric.query_many(sources, s_cost, targets, t_cost)
    return cost, arcs.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--searches", type=int, default=2000)
    args = parser.parse_args()
    path = cache_root() / "graphs" / f"bench-province-{args.nodes}-{args.seed}.npz"
    if not path.is_file():
        sys.exit(f"{path}: run benchmarks/bench_province.py --skip 1,1b,3 --router-nodes {args.nodes} first")
    net = NetworkArrays.load(path)
    t = time.perf_counter()
    topology = metrics_module.topology(net.tail, net.head, net.lon, net.lat, cache_root() / "cch")
    print(f"{len(net.lon):,} nodes, {net.arcs:,} arcs; topology loaded in {time.perf_counter() - t:.1f} s")
    weights = np.maximum(1, np.round(net.time * 1000)).astype(np.uint32)
    t = time.perf_counter()
    metric = _cch.Metric(topology)
    metric.customize(weights)
    print(f"  customised (ours, serial) in {time.perf_counter() - t:.1f} s; OpenMP {_cch.HAS_OPENMP}")
    try:
        import pyroutingkit
    except ImportError:
        old = None
        print("  pyroutingkit not installed: the after only (pip install pyroutingkit==0.2.1 for the before)")
    else:
        folder = metrics_module.folder(net.tail, net.head, net.lon, net.lat, cache_root() / "cch")
        old_topology = pyroutingkit.CCHTopology()
        old_topology.load(str(folder))
        old = pyroutingkit.CCHMetric(old_topology)
        t = time.perf_counter()
        old.customize(weights, 0)
        print(f"  customised (pyroutingkit, serial) in {time.perf_counter() - t:.1f} s")

    rng = random.Random(args.seed)
    tail, head = net.tail, net.head

    def two_way() -> tuple[list[int], list[float]]:
        """Both ends of a random arc, with the costs of a random point on it (seconds)."""
        a = rng.randrange(net.arcs)
        f = rng.random()
        cost = float(net.time[a])
        return [int(head[a]), int(tail[a])], [(1 - f) * cost, f * cost]

    searches = []
    for _ in range(args.searches):
        (s, sc), (d, dc) = two_way(), two_way()
        searches.append((s, sc, d, dc))
    ones = [([s[0]], [sc[0]], [d[1]], [dc[1]]) for s, sc, d, dc in searches]

    print(f"{'':60} p50 ms   p95 ms  mean ms")
    for name, batch in (("2 sources × 2 targets", searches), ("1 source × 1 target", ones)):
        times: dict[str, list[float]] = {"before": [], "after": []}
        differ = 0
        for k, search in enumerate(batch):
            order = ("before", "after") if k % 2 == 0 else ("after", "before")
            answers = {}
            for which in order:
                if which == "before" and old is None:
                    continue
                t = time.perf_counter()
                answers[which] = (before if which == "before" else after)(old if which == "before" else metric, *search)
                times[which].append((time.perf_counter() - t) * 1000)
            differ += len(answers) == 2 and answers["before"] != answers["after"]
        if old is not None:
            print(row(f"{name}: before (table + query, pyroutingkit)", times["before"]))
        print(row(f"{name}: after (one query_many)", times["after"]))
        if old is not None:
            print(
                f"  {name}: after/before p50 {pct(times['after'], 50) / pct(times['before'], 50):.2f}; "
                f"answers differing (cost or arcs): {differ} of {len(batch)}"
            )

    # two threads at once: the GIL is released during the search, so on two idle cores they overlap
    for threads in (1, 2):
        share = [searches[k::threads] for k in range(threads)]
        start = time.perf_counter()
        workers = [threading.Thread(target=lambda b=b: [after(metric, *s) for s in b]) for b in share]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        print(f"  {threads} thread(s): {len(searches) / elapsed:,.0f} 2×2 searches/s ({elapsed:.2f} s)")

    # a request's two searches (unrestricted, then restricted on a metric with 1 % of the arcs closed): one after
    # the other, or the restricted one speculatively in a second thread beside the first (its answer unused
    # when the first breaks nothing)
    closed = weights.copy()
    closed[rng.sample(range(net.arcs), net.arcs // 100)] = INF
    restricted = _cch.Metric(topology)
    restricted.customize(closed)
    pool = ThreadPoolExecutor(1)
    times = {"one after the other": [], "beside each other (a thread)": []}
    for k, search in enumerate(searches[: max(200, len(searches) // 4)]):
        for name in list(times) if k % 2 == 0 else list(times)[::-1]:
            t = time.perf_counter()
            if name == "one after the other":
                after(metric, *search)
                after(restricted, *search)
            else:
                second = pool.submit(after, restricted, *search)
                after(metric, *search)
                second.result()
            times[name].append((time.perf_counter() - t) * 1000)
    pool.shutdown()
    for name, ms in times.items():
        print(row(f"a request's two 2×2 searches, {name}", ms))
    perfect_section(topology, metric, restricted, searches, ones)


def perfect_section(topology, metric, restricted, searches, ones) -> None:
    """The perfect customisation of both metrics (copies, so the basic ones stay), then the same searches on each
    basic metric and its perfect copy, alternating; the answers must agree in cost, distance and pair (on ties
    the paths may differ, both shortest)."""
    print(f"\n== perfect customisation: {topology.cch_arc_count:,} CCH arcs ==")
    perfect = {}
    for name, basic in (("unrestricted", metric), ("restricted", restricted)):
        copied = basic.copy()
        t = time.perf_counter()
        built = copied.perfect()
        ms = (time.perf_counter() - t) * 1000
        forward, backward, size = copied.perfect_arcs
        print(
            f"  {name}: built {built} in {ms:,.0f} ms; kept {forward:,} forward and {backward:,} backward arcs "
            f"({forward / topology.cch_arc_count:.0%}, {backward / topology.cch_arc_count:.0%}); "
            f"{size / 2**20:,.0f} MiB ({size / (forward + backward):.1f} bytes per kept arc)"
        )
        perfect[name] = copied
    print(f"{'':60} p50 ms   p95 ms  mean ms")
    for label, batch in (("2 sources × 2 targets", searches), ("1 source × 1 target", ones)):
        times: dict[str, list[float]] = {"basic": [], "perfect": []}
        differ = paths = 0
        for k, search in enumerate(batch):
            answers = {}
            for which in ("basic", "perfect") if k % 2 == 0 else ("perfect", "basic"):
                m = metric if which == "basic" else perfect["unrestricted"]
                t = time.perf_counter()
                answers[which] = m.query_many(*search)
                times[which].append((time.perf_counter() - t) * 1000)
            differ += answers["basic"][:4] != answers["perfect"][:4]
            paths += answers["basic"][4].tolist() != answers["perfect"][4].tolist()
        print(row(f"{label}: query_many, basic", times["basic"]))
        print(row(f"{label}: query_many, perfect", times["perfect"]))
        print(
            f"  {label}: basic/perfect p50 {pct(times['basic'], 50) / pct(times['perfect'], 50):.2f}, "
            f"p95 {pct(times['basic'], 95) / pct(times['perfect'], 95):.2f}; answers differing (cost, distance, "
            f"pair): {differ} of {len(batch)}; other path of the same distance: {paths}"
        )
    times = {"basic": [], "perfect": []}
    for k, search in enumerate(searches[: max(200, len(searches) // 4)]):
        for which in ("basic", "perfect") if k % 2 == 0 else ("perfect", "basic"):
            one, two = (metric, restricted) if which == "basic" else (perfect["unrestricted"], perfect["restricted"])
            t = time.perf_counter()
            after(one, *search)
            after(two, *search)
            times[which].append((time.perf_counter() - t) * 1000)
    for which, ms in times.items():
        print(row(f"a request's two 2×2 searches one after the other, {which}", ms))


if __name__ == "__main__":
    main()
