"""Routing at province scale (issue #18): worker start, requests, zone changes, new passes, memory.

Three parts, in one run:

1. **Harbin, before and after, side by side.** The central Harbin graph with 10 active
   zones (drawn as ``bench_routes.py`` draws them), answered back to back
   by one router with the metrics of ``main`` (``routing/metrics.py`` read from git: one
   metric per closed-edge set, each customised in full) and with this branch's (a pool per
   load class moved by partial customisation), alternating rounds so that both see the same
   machine. Then the first request after a zone changes state (zones switching on hour by
   hour) and the first request with a new pass, for each.
2. **The router on a synthetic province graph** (``bench_province_graph``, ``--router-nodes``,
   default 100,000 nodes): whole requests (snap, searches, re-check, answer), the first
   request after a zone changes state and with a new pass, the router's build time and
   memory, to extrapolate what the per-arc Python objects of ``RoadNetwork`` cost at 1M.
3. **The CCH at a million nodes** (``--nodes``): topology build or load, worker start (the
   topologies loaded, the metrics a worker customises at start), the two searches a request
   runs (unrestricted, then restricted when the first breaks a zone), the first request after
   a zone changes state and with a new pass (partial customisation), memory.

    python benchmarks/bench_province.py [--nodes 1000000] [--router-nodes 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_province_graph import ProvinceArrays, network_arrays, province_arrays  # noqa: E402
from bench_routes import JITTER, _body  # noqa: E402

from hazmat.cityconfig import ZoneFeature, load_city  # noqa: E402
from hazmat.events import Pass, RouteRequest, decode  # noqa: E402
from hazmat.paths import cache_root  # noqa: E402
from hazmat.routing import graph as road_graph  # noqa: E402
from hazmat.routing import metrics as metrics_module  # noqa: E402
from hazmat.routing import tdsearch  # noqa: E402
from hazmat.routing.arrays import NetworkArrays  # noqa: E402
from hazmat.routing.metrics import INF, Metrics, Provisional  # noqa: E402
from hazmat.routing.network import with_derived  # noqa: E402
from hazmat.routing.policy import Load  # noqa: E402
from hazmat.routing.router import Router  # noqa: E402
from hazmat.routing.zones import load_zones  # noqa: E402

DAY = "2026-11-26"
TZ = "+08:00"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def rss_mb() -> float:
    """Resident memory now (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(name: str, values: list[float]) -> str:
    return f"  {name:52}{pct(values, 50):>9.2f}{pct(values, 95):>9.2f}{statistics.mean(values):>9.2f}"


HEADER = f"  {'':52}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}"


# --- the metrics of main, for the side-by-side -------------------------------------------------

#: the git revision whose router is "main" in the side-by-side runs (``--before``): on a branch, main;
#: on main, the commit before the change being measured (issue #18 started from 1f66865)
BEFORE = "main"


@dataclass
class Held:
    """A metric as the router's lease hands it out, for main's metrics (no moves beside the benchmark's requests)."""

    metric: Any

    def release(self) -> None:
        pass


class MainMetrics:
    """``main``'s metrics behind this branch's interface (before issue #18's pools: one per closed-edge set)."""

    def __init__(self, net: Any) -> None:
        module = main_metrics_module()
        self.old = module.Metrics(net)
        #: main has the pools already (part 1 of the issue merged): the same interface, passed through
        self.pools = hasattr(self.old, "forget_states")

    def get(
        self, kind: str, closed: frozenset[int], state: Hashable, closing: Callable[[], frozenset[int]] = frozenset
    ):
        if self.pools:
            return self.old.get(kind, closed, state, closing)
        return self.old.get(kind, (closed, state), lambda: closed | closing())

    def lookup(
        self, kind: str, closed: frozenset[int], state: Hashable, closing: Callable[[], frozenset[int]] = frozenset
    ):
        """The router's lookup: main has no provisional answers, its metric is the state's own."""
        return self.get(kind, closed, state, closing)

    def lease(
        self, kind: str, closed: frozenset[int], state: Hashable, closing: Callable[[], frozenset[int]] = frozenset
    ) -> Held:
        """The router's lease: the state's own metric (never main's own :class:`Provisional`, a class of another
        module copy that the router would not recognise), nothing held (the benchmark runs one thread)."""
        return Held(self.get(kind, closed, state, closing))

    def __getattr__(self, name: str) -> Any:  # counts, settle …: main's own
        return getattr(self.old, name)

    def potentials(self, targets: Any, kind: str) -> list[float]:
        return self.old.potentials(targets, kind)

    def clear(self) -> None:
        self.old.clear()

    def forget_states(self) -> None:
        if self.pools:
            self.old.forget_states()
        else:
            self.old.clear()  # main before the pools dropped every metric when the zones changed


# --- zones and requests on a router ------------------------------------------------------------


def square(zone_id: str, cx: float, cy: float, half: float, windows: list[dict] | None = None) -> ZoneFeature:
    ring = [[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]]
    props: dict[str, Any] = {"id": zone_id, "kind": "restricted"}
    if windows:
        props["windows"] = windows
    return ZoneFeature.model_validate(
        {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}
    )


def a_pass(pass_id: str, zone_id: str, plate: str, route: list[tuple[float, float]] | None = None) -> Pass:
    body = {
        "schema_version": 1, "pass_id": pass_id, "plate": plate, "zone_ids": [zone_id],
        "valid_from": f"{DAY}T00:00:00{TZ}", "valid_until": f"{DAY}T23:59:00{TZ}",
        "route": None if route is None else {"type": "LineString", "coordinates": [list(p) for p in route]},
        "issued_by": "bench", "reason": "bench",
    }  # fmt: skip
    return decode(Pass, json.dumps(body, ensure_ascii=False))


def requests_near(
    router: Router, rng: random.Random, count: int, *, at: str, within_deg: float | None = None
) -> list[RouteRequest]:
    """Random points near the roads (a node moved up to ``JITTER``), outside every zone; ``within_deg``: the
    destination that close to the origin (short trips)."""
    xs, ys = router.net.xs, router.net.ys
    out: list[RouteRequest] = []
    while len(out) < count:
        i = rng.randrange(len(xs))
        o = (xs[i] + rng.uniform(-JITTER, JITTER), ys[i] + rng.uniform(-JITTER, JITTER))
        if within_deg is None:
            j = rng.randrange(len(xs))
            d = (xs[j] + rng.uniform(-JITTER, JITTER), ys[j] + rng.uniform(-JITTER, JITTER))
        else:
            d = (o[0] + rng.uniform(-within_deg, within_deg), o[1] + rng.uniform(-within_deg, within_deg))
        body = _body(o, d)
        body["depart_at"] = at
        request = decode(RouteRequest, json.dumps(body))
        if any(
            router._inside(*router.projection.point(*p), load_of(router), datetime.fromisoformat(at)) for p in (o, d)
        ):
            continue
        out.append(request)
    return out


def load_of(router: Router) -> Load:
    return Load.of(decode(RouteRequest, json.dumps(_body((0, 0), (0, 0)))).load, router.city.rules.tunnel_codes)


def timed(router: Router, request: RouteRequest, passes: list[Pass] | None = None) -> tuple[float, Any]:
    t = time.perf_counter()
    route = router.plan(request, passes=passes if passes is not None else [])
    return (time.perf_counter() - t) * 1000, route


def crossing(
    router: Router, centre: tuple[float, float], half: float, at: str, plate: str, *, across: bool = True
) -> list[RouteRequest]:
    """Two requests across the square around ``centre`` (west to east, then south to north; with
    ``across=False`` both west to east, the second from farther out), ends outside every zone active at
    ``at``: their unrestricted routes cross it, so the restricted search answers them."""
    load, when = load_of(router), datetime.fromisoformat(at)
    out = []
    ways = (((-1, 0), (1, 0)), ((0, -1), (0, 1))) if across else (((-1, 0), (1, 0)), ((-1, 0.2), (1, 0.2)))
    for n, ((dx0, dy0), (dx1, dy1)) in enumerate(ways):
        for reach in (1.6, 2.2, 3.0, 4.5) if across or n == 0 else (2.2, 3.0, 4.5):
            o = (centre[0] + dx0 * reach * half, centre[1] + dy0 * reach * half)
            d = (centre[0] + dx1 * reach * half, centre[1] + dy1 * reach * half)
            if not any(router._inside(*router.projection.point(*p), load, when) for p in (o, d)):
                break
        body = _body(o, d)
        body["depart_at"], body["plate"] = at, plate
        out.append(decode(RouteRequest, json.dumps(body, ensure_ascii=False)))
    return out


def changes(
    router: Router, city: Any, base: list[ZoneFeature], rng: random.Random, *, hours: int = 8, ahead: bool = False
) -> dict:
    """The first request after a zone changes state, and the first with a new pass, then the next one.

    ``ahead``: as a worker does, ``Router.prepare`` is called as the clock passes two minutes before each
    hour (the worker's timer) and ``Router.prepare_passes`` when a pass arrives (its follower), and the
    request comes once that background work is done (its time reported).

    ``hours`` more zones switch on at 01:00, 02:00 …: a request across zone k at k:01 is the first of a
    new state (one more zone closed), then another across it in the same state; short trips, so no
    zone switches on the way (the time-dependent search is another path, timed by ``bench_routes.py``).
    Then for each base zone a vehicle with a pass opening it along its north-south line (another state:
    a request across it from west to east still needs the restricted search), twice across it. The
    zone set is replaced once before each part (``set_zones``); the first request after that, which
    moves a metric from the old zone set's state, is not counted.
    """
    searches = 0
    search = tdsearch.search

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal searches
        searches += 1
        return search(*args, **kwargs)

    tdsearch.search = counted  # type: ignore[assignment]  # counted for this part only
    try:
        found = _changes(router, city, base, rng, hours, ahead)
    finally:
        tdsearch.search = search
    return {**found, "timed": searches}


def _changes(
    router: Router, city: Any, base: list[ZoneFeature], rng: random.Random, hours: int, ahead: bool = False
) -> dict:
    xs, ys = router.net.xs, router.net.ys
    centres = []
    hourly = []
    for k in range(1, hours + 1):
        i = rng.randrange(len(xs))
        centres.append((xs[i], ys[i]))
        hourly.append(square(f"hz{k}", xs[i], ys[i], 0.006, windows=[{"start": f"{k:02d}:00", "end": "23:30"}]))
    router.set_zones(load_zones(city, router.projection, [*base, *hourly]))
    for request in crossing(router, centres[0], 0.006, f"{DAY}T00:30:00{TZ}", "黑A12345"):
        timed(router, request)  # the state before any switches on (not counted)
    counts = dict(getattr(router.metrics, "counts", {}))
    ahead_before = dict(getattr(router.metrics, "ahead", {}))
    first, then, ahead_ms = [], [], []

    def prepared(prepare: Callable[[], int]) -> None:
        if ahead:
            t = time.perf_counter()
            prepare()
            assert router.metrics.settle(120)
            ahead_ms.append((time.perf_counter() - t) * 1000)

    for k in range(1, hours + 1):
        a, b = crossing(router, centres[k - 1], 0.006, f"{DAY}T{k:02d}:01:00{TZ}", "黑A12345")
        prepared(lambda k=k: router.prepare(datetime.fromisoformat(f"{DAY}T{k - 1:02d}:58:00{TZ}"), 300))
        first.append(timed(router, a)[0])
        then.append(timed(router, b)[0])
    router.set_zones(load_zones(city, router.projection, base))
    pass_first, pass_then = [], []
    for k, feature in enumerate(base):
        plate = f"黑A{k:05d}"
        ring = feature.geometry.coordinates[0]
        centre = ((ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2)
        half = (ring[2][0] - ring[0][0]) / 2
        a, b = crossing(router, centre, half, f"{DAY}T10:00:00{TZ}", plate, across=False)
        if k == 0:
            timed(router, a)  # the state without passes on this zone set (not counted)
        line = [(centre[0], centre[1] - 2 * half), (centre[0], centre[1] + 2 * half)]
        held = [a_pass(f"P-{k}", feature.properties.id, plate, route=line)]
        at = a.depart_at
        prepared(lambda plate=plate, held=held, at=at: router.prepare_passes(plate, held, at))
        pass_first.append(timed(router, a, held)[0])
        pass_then.append(timed(router, b, held)[0])
    after = getattr(router.metrics, "counts", {})
    counts = {k: after[k] - counts.get(k, 0) for k in after}
    return {
        "zone_first": first,
        "zone_then": then,
        "pass_first": pass_first,
        "pass_then": pass_then,
        "counts": counts,
        "ahead": {k: v - ahead_before[k] for k, v in getattr(router.metrics, "ahead", {}).items()},
        "ahead_ms": ahead_ms,
        "load": os.getloadavg()[0],
    }


def _with_plate(request: RouteRequest, plate: str) -> RouteRequest:
    return request.model_copy(update={"plate": plate})


def print_changes(name: str, found: dict) -> None:
    over = [sum(v > 200 for v in found[k]) for k in ("zone_first", "pass_first")]
    print(
        f"  {name}: {found['timed']} time-dependent searches; customisations {found['counts']}; "
        f"{'ahead ' + str(found['ahead']) + '; ' if found.get('ahead') else ''}load average {found['load']:.1f}; "
        f"over 200 ms: {over[0]}/{len(found['zone_first'])} zone, {over[1]}/{len(found['pass_first'])} pass; "
        f"first requests (ms): zone {[round(v, 1) for v in found['zone_first']]}, "
        f"pass {[round(v, 1) for v in found['pass_first']]}"
    )
    print(row(f"{name}: first request, a zone changed state", found["zone_first"]))
    print(row(f"{name}: the next request in that state", found["zone_then"]))
    print(row(f"{name}: first request with a new pass", found["pass_first"]))
    print(row(f"{name}: the next request with it", found["pass_then"]))
    if found.get("ahead_ms"):
        print(
            row(f"{name}: prepared before it (call → done)", found["ahead_ms"]) + f"{max(found['ahead_ms']):>9.0f} max"
        )


# --- part 1: Harbin ------------------------------------------------------------------------------


def harbin(args: argparse.Namespace) -> None:
    print("== 1. Harbin centre, main's metrics and this branch's, side by side ==")
    city = load_city("harbin")
    graph = road_graph.load(city)
    t = time.perf_counter()
    router = Router(graph, city)
    print(f"router ready in {time.perf_counter() - t:.2f} s ({graph.number_of_nodes():,} nodes)")
    rng = random.Random(args.seed)
    nodes = [(d["x"], d["y"]) for _, d in graph.nodes(data=True)]
    features = []
    for k in range(10):  # bench_routes.py's 10 always-active zones, 0.5–1.5 km across (same draws)
        cx, cy = rng.choice(nodes)
        features.append(square(f"bz{k}", cx, cy, rng.uniform(0.003, 0.009)))
    router.set_zones(load_zones(city, router.projection, features))
    requests = requests_near(router, rng, args.pairs, at=f"{DAY}T10:00:00{TZ}")
    after = router.metrics
    before = MainMetrics(router.net)
    times: dict[str, list[float]] = {"main": [], "branch": []}
    for variant in ("main", "branch"):  # warm both (their metrics customised once)
        router.metrics = before if variant == "main" else after
        for request in requests:
            router.plan(request)
    for _round in range(args.rounds):
        for variant in ("main", "branch") if _round % 2 == 0 else ("branch", "main"):
            router.metrics = before if variant == "main" else after
            for request in requests:
                times[variant].append(timed(router, request)[0])
    print(f"\n{args.pairs} requests × {args.rounds} rounds, back to back, 10 active zones, optimize=time")
    print(HEADER)
    print(row("main's metrics", times["main"]))
    print(row("this branch's metrics", times["branch"]))
    meets = pct(times["branch"], 50) <= 1 and pct(times["branch"], 95) <= 3
    slower = pct(times["branch"], 50) > pct(times["main"], 50) * 1.05
    print(
        f"  target p50 ≤ 1 ms, p95 ≤ 3 ms: {'meets' if meets else 'misses'}; "
        f"{'slower' if slower else 'no slower'} than main at p50 (5 % noise allowed)"
    )
    print()
    for variant, metrics in (("main", before), ("branch", after)):
        router.metrics = metrics
        print_changes(variant, changes(router, city, features, random.Random(args.seed + 1)))


def main_router_class() -> Any:
    """``main``'s whole routing package (``git archive main routing``), importable beside this branch's as
    ``hazmat._routing_main``: its ``Router`` (the road network of per-arc Python objects) for the side-by-side."""
    import io
    import tarfile
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="routing-main-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE, "routing"], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    spec = importlib.util.spec_from_file_location(
        "hazmat._routing_main", folder / "routing" / "__init__.py", submodule_search_locations=[str(folder / "routing")]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    if (folder / "routing" / "cch").is_dir():  # a main with our binding (sources only): this build's extension
        from hazmat.routing import _cch

        sys.modules[f"{spec.name}._cch"] = _cch  # one extension per process: pybind11 registers its types once
    spec.loader.exec_module(module)
    try:
        return importlib.import_module("hazmat._routing_main.router").Router
    except ModuleNotFoundError as exc:  # a main from before our CCH binding runs on pyroutingkit
        sys.exit(f"main's router needs {exc.name}: pip install pyroutingkit==0.2.1 into this venv for part 1b")


def harbin_routers(args: argparse.Namespace) -> None:
    """Harbin with ``main``'s router and this branch's (the network as arrays), side by side: build time, memory,
    whole requests back to back in alternating rounds, and whether they answer alike."""
    print("\n== 1b. Harbin centre, main's router and this branch's (the road network as arrays), side by side ==")
    city = load_city("harbin")
    graph = road_graph.load(city)
    main_router = main_router_class()
    built = {}
    for name, make in (
        ("main", lambda: main_router(graph, city)),
        ("branch", lambda: Router(graph, city)),
        ("branch, from the cached arrays", lambda: Router(road_graph.load_network(city), city)),
    ):
        rss0, t = rss_mb(), time.perf_counter()
        built[name] = make()
        print(f"  {name}: router built in {time.perf_counter() - t:.2f} s, +{rss_mb() - rss0:.0f} MiB")
    routers = {"main": built["main"], "branch": built["branch, from the cached arrays"]}
    rng = random.Random(args.seed)
    nodes = [(d["x"], d["y"]) for _, d in graph.nodes(data=True)]
    features = []
    for k in range(10):  # as part 1: bench_routes.py's 10 always-active zones
        cx, cy = rng.choice(nodes)
        features.append(square(f"bz{k}", cx, cy, rng.uniform(0.003, 0.009)))
    for r in routers.values():
        r.set_zones(load_zones(city, r.projection, features))
    requests = requests_near(routers["branch"], rng, args.pairs, at=f"{DAY}T10:00:00{TZ}")
    differ = sum(routers["main"].plan(q) != routers["branch"].plan(q) for q in requests)  # and warm both
    times: dict[str, list[float]] = {"main": [], "branch": []}
    for _round in range(args.rounds):
        for name in ("main", "branch") if _round % 2 == 0 else ("branch", "main"):
            for request in requests:
                times[name].append(timed(routers[name], request)[0])
    print(f"  {args.pairs} requests × {args.rounds} rounds, back to back; answers differing: {differ}")
    print(HEADER)
    print(row("main (networkx graph, shapely lines per arc)", times["main"]))
    print(row("this branch (arrays)", times["branch"]))
    slower = pct(times["branch"], 50) > pct(times["main"], 50) * 1.05
    print(f"  {'slower' if slower else 'no slower'} than main at p50 (5 % noise allowed)")


# --- part 2: the router on a synthetic province graph ---------------------------------------------


def province_zones(lon: np.ndarray, lat: np.ndarray, rng: random.Random, count: int) -> list[ZoneFeature]:
    """``count`` square zones 1.5–3 km across scattered over the graph; one in three with a daytime window."""
    out = []
    for k in range(count):
        i = rng.randrange(len(lon))
        half = rng.uniform(0.007, 0.014)
        windows = [{"start": "07:00", "end": "21:00"}] if k % 3 == 0 else None
        out.append(square(f"pz{k}", float(lon[i]), float(lat[i]), half, windows))
    return out


def province_router(args: argparse.Namespace) -> None:
    """Build once what ``hazmat graph build`` caches (the network's arrays, the two topologies), then start a
    worker from them in a fresh process: its start, memory and requests are what a deployment sees."""
    n = args.router_nodes
    print(f"\n== 2. the router on a synthetic province graph of {n:,} nodes (a worker from the cache) ==")
    path = cache_root() / "graphs" / f"bench-province-{n}-{args.seed}.npz"
    try:
        fresh = path.is_file() and bool(NetworkArrays.load(path).derived)
    except ValueError:  # written by an older version of the arrays
        fresh = False
    if not fresh:
        t = time.perf_counter()
        arrays = province_arrays(n, seed=args.seed)
        net = with_derived(network_arrays(arrays))
        del arrays
        made = time.perf_counter() - t
        path.parent.mkdir(parents=True, exist_ok=True)
        net.save(path)
        t = time.perf_counter()
        cache = cache_root() / "cch"
        metrics_module.topology(net.tail, net.head, net.lon, net.lat, cache)
        metrics_module.topology(net.head, net.tail, net.lon, net.lat, cache)
        print(
            f"cache written once (as `hazmat graph build` does): arrays {made:.0f} s "
            f"({path.stat().st_size / 2**20:.0f} MiB), topologies {time.perf_counter() - t:.0f} s"
        )
        del net
    command = [
        sys.executable,
        __file__,
        "--worker",
        str(path),
        "--requests",
        str(args.requests),
        "--hours",
        str(args.hours),
    ]
    subprocess.run([*command, "--seed", str(args.seed)], check=True)


def province_worker(args: argparse.Namespace) -> None:
    """A worker's life on the cached province network: start (arrays, topologies, zones, the metrics of
    ``Router.warm``), memory, whole requests, the first request after a zone change and with a new pass."""
    import gc

    city = load_city("harbin")
    rng = random.Random(args.seed)
    rss0 = rss_mb()
    start = time.perf_counter()
    net = NetworkArrays.load(Path(args.worker))
    t_load = time.perf_counter() - start
    features = province_zones(net.lon, net.lat, rng, max(10, len(net.lon) // 5000))
    t = time.perf_counter()
    router = Router(net, city, zones=features)
    t_router = time.perf_counter() - t
    t_topologies = router.metrics.loaded_s
    t = time.perf_counter()
    # the unrestricted metric now; the default load class's (and the potentials) in the background
    router.warm(lazy_classes=True)
    t_free = time.perf_counter() - t
    ready = time.perf_counter() - start
    router.metrics.settle()
    t_class = time.perf_counter() - start - ready
    del net
    gc.collect()
    rss1 = rss_mb()
    print(
        f"{len(router.net.node_ids):,} nodes, {len(router.net.head):,} arcs, {len(features)} zones: worker ready in "
        f"{ready:.1f} s (arrays loaded {t_load:.1f} s; router {t_router:.1f} s, of which the two topologies "
        f"{t_topologies:.1f} s; unrestricted metric {t_free:.1f} s); the default load class's metric and the "
        f"potentials {t_class:.1f} s after, in the background; +{rss1 - rss0:.0f} MiB "
        f"({(rss1 - rss0) * 1024 / len(router.net.head):.2f} KiB per arc), {rss1:.0f} MiB resident"
    )
    requests = requests_near(router, rng, args.requests, at=f"{DAY}T10:00:00{TZ}")
    for request in requests[:20]:
        router.plan(request)
    # their states' moves (searched meanwhile, Metrics.searching) done: a worker's steady state
    router.metrics.settle()
    basic = [timed(router, request) for request in requests]
    warm = [ms for ms, _ in basic]
    print(HEADER)
    print(row("whole request, back to back (10:00, zones active)", warm))
    # the worker's timer (Router.prepare) perfects the metrics in use in the background: the same requests after
    t = time.perf_counter()
    router.prepare(datetime.fromisoformat(f"{DAY}T10:00:00{TZ}"))
    router.metrics.settle()
    t_perfect = time.perf_counter() - t
    after = [timed(router, request) for request in requests]
    perfected = [ms for ms, _ in after]
    print(row("the same, metrics in use perfected", perfected))
    same = sum(
        (a.status, a.duration_s, [z.zone_id for z in a.avoided])
        == (b.status, b.duration_s, [z.zone_id for z in b.avoided])
        for (_, a), (_, b) in zip(basic, after, strict=True)
    )
    print(
        f"  perfected {router.metrics.counts['perfect']} metrics in {t_perfect:.1f} s (background, one core); "
        f"p50 ratio {pct(warm, 50) / pct(perfected, 50):.2f}, p95 ratio {pct(warm, 95) / pct(perfected, 95):.2f}; "
        f"{rss_mb():.0f} MiB resident; {same} of {len(after)} answers the same (status, duration, zones avoided)"
    )
    hours = args.hours
    mine = router.metrics
    router.metrics = MainMetrics(router.net)  # main's metrics, from the same start (the class customised on first use)
    print_changes("province, main", changes(router, city, features[:8], random.Random(args.seed + 2), hours=hours))
    router.metrics = mine
    gc.collect()
    for name, ahead in (("province, branch (shortcut on)", False), ("province, branch prepared ahead", True)):
        found = changes(router, city, features[:8], random.Random(args.seed + 2), hours=hours, ahead=ahead)
        print_changes(name, found)
    print(f"  memory now {rss_mb():.0f} MiB, peak {peak_mb():.0f} MiB")


# --- part 3: the CCH at a million nodes -------------------------------------------------------------


class Net:
    """What :class:`Metrics` reads of a network, from the arrays (no per-arc Python objects)."""

    def __init__(self, arrays: ProvinceArrays) -> None:
        self.tail, self.head = arrays.tail, arrays.head
        self.xs, self.ys = arrays.lon, arrays.lat
        self.time_array = arrays.length_m / (arrays.kmh / 3.6)
        self.length_array = arrays.length_m
        self.all_nodes = np.arange(arrays.nodes, dtype=np.uint32)


def zone_arcs(arrays: ProvinceArrays, rng: random.Random, count: int) -> list[np.ndarray]:
    """The arcs of ``count`` zones (squares 1.5–3 km across) scattered over the graph: both ends inside."""
    out = []
    for _ in range(count):
        i = rng.randrange(arrays.nodes)
        half = rng.uniform(0.007, 0.014)
        inside = (np.abs(arrays.lon - arrays.lon[i]) < half) & (np.abs(arrays.lat - arrays.lat[i]) < half * 0.72)
        out.append(np.flatnonzero(inside[arrays.tail] | inside[arrays.head]))
    return out


def province_cch(args: argparse.Namespace) -> None:
    print(f"\n== 3. the CCH on a synthetic province graph of {args.nodes:,} nodes ==")
    rng = random.Random(args.seed)
    t = time.perf_counter()
    arrays = province_arrays(args.nodes, seed=args.seed)
    print(
        f"{arrays.nodes:,} nodes, {arrays.arcs:,} arcs ({arrays.arcs / arrays.nodes:.2f} per node), made in {time.perf_counter() - t:.1f} s"
    )
    net = Net(arrays)
    cache = cache_root() / "cch"
    folder = cache / metrics_module._digest(
        net.tail.astype(np.uint32), net.head.astype(np.uint32), net.ys.astype(np.float32), net.xs.astype(np.float32)
    )
    if not (folder / "order").is_file():
        t = time.perf_counter()
        metrics_module.topology(net.tail, net.head, net.xs, net.ys, cache)
        metrics_module.topology(net.head, net.tail, net.xs, net.ys, cache)
        print(f"topologies built and saved (first run only): {time.perf_counter() - t:.0f} s for both")
    tunnels = {code: frozenset(np.flatnonzero(_closes_tunnel(arrays, code)).tolist()) for code in "BCDE"}
    classes = {code: tunnels[code] | frozenset(np.flatnonzero(arrays.hazmat_no).tolist()) for code in "BCDE"}
    rss0 = rss_mb()
    start = time.perf_counter()
    metrics = Metrics(net, cache=cache)  # type: ignore[arg-type]
    t_topology = time.perf_counter() - start
    # the unrestricted search of every request and the commonest load class (tunnel code D: most gases,
    # flammable liquids), one after the other
    metrics.warm([("time", frozenset()), ("time", classes["D"])])
    ready = time.perf_counter() - start
    print(
        f"worker start with cached topologies: {ready:.1f} s (topologies loaded {t_topology:.1f} s, then the "
        f"unrestricted metric and one load class's, {ready - t_topology:.1f} s); "
        f"+{rss_mb() - rss0:.0f} MiB"
    )
    t = time.perf_counter()
    metrics.warm([], potentials=["time"])
    print(f"  the time-dependent search's potentials (reversed CCH), after start: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    metrics.warm([("time", classes["C"])])
    print(f"  another load class on its first request (lazily): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    metrics._customised(metrics._class("time", classes["D"]).base, threads=2)
    print(f"  a full customisation with the library's two threads, for comparison: {time.perf_counter() - t:.1f} s")
    zones = zone_arcs(arrays, rng, 200)
    sizes = [len(z) for z in zones]
    print(f"  200 zones, {statistics.median(sizes):.0f} arcs each (median), {max(sizes)} at most")
    closed_zones = set(range(0, 200, 2))  # half active at this moment

    def closing(active: frozenset[int], opened: frozenset[int] = frozenset()) -> Callable[[], frozenset[int]]:
        return lambda: frozenset(np.concatenate([zones[z] for z in active - opened]).tolist())

    klass = classes["D"]
    state = frozenset(closed_zones)
    zone_set = np.zeros(arrays.arcs, dtype=bool)
    zone_set[np.concatenate([zones[z] for z in closed_zones])] = True
    zone_set[list(klass)] = True
    free = metrics.get("time", frozenset(), frozenset())
    metrics.get("time", klass, state, closing(state))
    metrics.settle()
    searches, restricted = [], 0
    pairs = [(rng.randrange(arrays.nodes), rng.randrange(arrays.nodes)) for _ in range(args.requests)]
    for s, d in pairs:
        t = time.perf_counter()
        _, _, arcs = free.query(s, d)
        if zone_set[arcs].any():  # the unrestricted route breaks something: the restricted search answers
            metrics.get("time", klass, state, closing(state)).query(s, d)
            restricted += 1
        searches.append((time.perf_counter() - t) * 1000)
    print(HEADER)
    print(row(f"searches of a request (both when needed: {restricted}/{len(pairs)})", searches))
    print(f"  customisations during the searches: {metrics.counts['full']} full, {metrics.counts['partial']} partial")
    metrics.settle()
    before_mb = rss_mb()
    t = time.perf_counter()
    probe = metrics._customised(metrics._class("time", klass).base, threads=1)
    full_s = time.perf_counter() - t
    per_metric = rss_mb() - before_mb
    del probe
    print(
        f"  a full customisation, for comparison (what main did for each new state): {full_s * 1000:.0f} ms; "
        f"one metric holds {per_metric:.0f} MiB"
    )
    held = len(metrics) + len(metrics._to_target)
    print(f"  memory: {rss_mb():.0f} MiB now ({held} metrics held), peak {peak_mb():.0f} MiB")
    del metrics, free
    print(
        f"  zone changes and new passes, {args.changes} of each, with main's metrics, then this branch's: moved on "
        "request (the shortcut off, nothing prepared), with the shortcut (a state closing more than a held metric "
        "answered from it when exact), and prepared ahead (as a worker's timer and passes follower do), "
        "(each from a worker start: the class's metric, then the state before the changes, not counted)"
    )
    before = main_metrics_module().Metrics
    for name, made, mode in (
        ("main", before, "request"),
        ("branch, on request", Metrics, "request"),
        ("branch, shortcut", Metrics, "shortcut"),
        ("branch, prepared ahead", Metrics, "prepared"),
    ):
        metrics = made(net, cache=cache)
        if made is Metrics:
            metrics.provisional = mode != "request"
        found = state_changes(metrics, klass, zones, pairs, args.changes, mode=mode)
        del metrics
        print_state_changes(name, found)
        print(f"    memory now {rss_mb():.0f} MiB, peak {peak_mb():.0f} MiB")
    _ = INF


def state_changes(
    metrics: Any, klass: frozenset[int], zones: list[np.ndarray], pairs: list, count: int, *, mode: str = "request"
) -> dict:
    """The first search after a zone changes state (``count`` times: one more active, then one fewer, each a
    new state of the class) and with a new pass (``count`` vehicles, each with a pass opening an active zone
    wholly), then the next search in that state; the pool grows in the background meanwhile, as a worker's.

    ``mode``: ``request``, the request moves the metric (what main does); ``shortcut``, through
    ``Metrics.lookup``: a state closing more than a held metric (a zone coming into force) is answered
    from that one when its path drives no newly closed arc, else after the move (the router's
    ``_fast``); ``prepared``, the state is prepared first (``Metrics.prepare``, as the worker's timer
    does before a window boundary and its passes follower on a pass's arrival), the request once
    that background move is done (its time reported: how far ahead it must start). Time is
    compressed (a boundary every few seconds, not hours), so a prepared state is reserved for 5 s,
    not :data:`RESERVE_S` after its boundary."""
    closed_zones = set(range(0, 200, 2))  # half active at this moment

    def closing(active: frozenset[int], opened: frozenset[int] = frozenset()) -> Callable[[], frozenset[int]]:
        return lambda: frozenset(np.concatenate([zones[z] for z in active - opened]).tolist())

    ahead_ms: list[float] = []

    def timed_get(state: Hashable, close: Callable[[], frozenset[int]], pair: tuple[int, int], first: bool) -> float:
        if first and mode == "prepared":
            t = time.perf_counter()
            metrics.prepare("time", klass, state, close, reserved_until=time.time() + 5)
            assert metrics.settle(120)
            ahead_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        if mode == "shortcut":
            found = metrics.lookup("time", klass, state, close)
            if isinstance(found, Provisional):
                try:
                    _, _, arcs = found.metric.query(*pair)
                    exact = found.exact(arcs)
                finally:
                    found.release()
                if not exact:
                    found.wait().query(*pair)
            else:
                found.query(*pair)
        else:
            metrics.get("time", klass, state, close).query(*pair)
        return (time.perf_counter() - t) * 1000

    metrics.warm([("time", klass)])
    base_state = frozenset(closed_zones)
    metrics.get("time", klass, base_state, closing(base_state))
    metrics.settle()
    start = dict(metrics.counts)
    load = [os.getloadavg()[0]]
    found: dict[str, list[float]] = {"zone": [], "zone_then": [], "pass": [], "pass_then": []}
    for k in range(1, 2 * count, 2):
        state = frozenset(closed_zones ^ {k}) if k % 4 == 1 else frozenset(closed_zones - {k - 1})
        found["zone"].append(timed_get(state, closing(state), pairs[k % len(pairs)], True))
        found["zone_then"].append(timed_get(state, closing(state), pairs[(k + 1) % len(pairs)], False))
    for k in range(0, 2 * count, 2):
        state = frozenset({("opened", k), *base_state})
        opened = closing(base_state, frozenset({k}))
        found["pass"].append(timed_get(state, opened, pairs[(100 + k) % len(pairs)], True))
        found["pass_then"].append(timed_get(state, opened, pairs[(101 + k) % len(pairs)], False))
    load.append(os.getloadavg()[0])
    metrics.settle()
    counts = {key: metrics.counts[key] - start[key] for key in start}
    return {**found, "load": load, "counts": counts, "ahead": dict(getattr(metrics, "ahead", {})), "ahead_ms": ahead_ms}


def print_state_changes(name: str, found: dict) -> None:
    zone, passes = found["zone"], found["pass"]
    print(
        f"  {name}: load average {found['load'][0]:.1f} → {found['load'][1]:.1f}; customisations {found['counts']}; "
        f"max ms: zone {max(zone):.0f}, pass {max(passes):.0f}; over 200 ms: "
        f"{sum(v > 200 for v in zone)}/{len(zone)} zone, {sum(v > 200 for v in passes)}/{len(passes)} pass"
        + (f"; ahead {found['ahead']}" if found["ahead"] else "")
    )
    print(row(f"{name}: first search, a zone changed state", zone))
    print(row(f"{name}: the next search in that state", found["zone_then"]))
    print(row(f"{name}: first search with a new pass", passes))
    print(row(f"{name}: the next search with it", found["pass_then"]))
    if found["ahead_ms"]:
        ahead = found["ahead_ms"]
        print(row(f"{name}: the background move before it (prepare → done)", ahead) + f"{max(ahead):>9.0f} max")


@functools.cache
def main_metrics_module() -> Any:
    """``routing/metrics.py`` at ``BEFORE`` (read from git), importable beside this checkout's: the before of a run."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{BEFORE}:routing/metrics.py"], capture_output=True, text=True, check=True
    ).stdout
    spec = importlib.util.spec_from_loader("hazmat.routing._metrics_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "hazmat.routing"
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{BEFORE}:routing/metrics.py", "exec"), module.__dict__)
    return module


def _closes_tunnel(arrays: ProvinceArrays, code: str) -> np.ndarray:
    """Tunnels of category ``code`` or above, and untagged ones (the default policy forbids them)."""
    tunnel = arrays.tunnel
    return np.array([t == "untagged" or (t != "" and t >= code) for t in tunnel.tolist()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--router-nodes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=200, help="Harbin requests (as bench_routes.py)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--changes", type=int, default=24, help="zone changes and new passes at 1M nodes")
    parser.add_argument("--hours", type=int, default=8, help="zones switching on hour by hour in part 2")
    parser.add_argument("--skip", default="", help="parts to skip, e.g. 1,2")
    parser.add_argument("--before", default="main", help="git revision of the router to compare with ('main' rows)")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)  # part 2's worker process
    args = parser.parse_args()
    global BEFORE
    BEFORE = args.before
    if args.worker:
        province_worker(args)
        return
    skip = set(args.skip.split(","))
    if "1" not in skip:
        harbin(args)
    if "1b" not in skip:
        harbin_routers(args)
    if "2" not in skip:
        province_router(args)
    if "3" not in skip:
        province_cch(args)


if __name__ == "__main__":
    main()
