"""Route latency on Harbin with 10 active zones, against networkx Dijkstra on the same graph (issue: routing).

Our figure includes everything a request costs: snapping onto the nearest road the load may
use (mid-edge), restriction handling, the searches from and to the snapped points, geometry,
the unrestricted search for ``avoided`` and the final re-check against the exact zone shapes.
The requests are random points near the roads (a node moved up to ~150 m each way), as a
dispatcher clicks them. Baselines in the same run: (a) a networkx reference
(``tests/routing/reference.py``) that snaps the same way by brute force (shapely, every
usable edge) and runs ``dijkstra_path_length`` from a virtual origin to a virtual destination
joined to the snapped edges by their partial costs, with a weight function that hides the
edges closed by the map or meeting a zone; it must agree with us on the optimal travel time
for every pair (the script fails if not), and its search alone is timed; (b) Valhalla via
pyvalhalla in its own Python 3.12 venv, tiles built from the same extract, truck costing,
the same zones as ``exclude_polygons``.
Two passes over the same requests: the first interleaves each of ours with a networkx
search (which walks tens of MB of Python objects and leaves our data out of the CPU caches:
a cold-cache figure, 2–3× the warm one); the second times ours back to back, as a routing
service answering a stream of requests runs and as Valhalla is timed (in its own process,
back to back). The target from the issue, p50 ≤ 1 ms and p95 ≤ 3 ms, is judged on the
back-to-back pass, and the speed-ups use it; the cold figures are printed beside it.
A third pass adds one designated area (规定路线, about 3 × 3 km of the centre) whose 20
designated roads are the 20 longest named streets in it, and a police pass for the
requesting vehicle that opens the zone most routes go round along one vehicle's unrestricted route; the same
requests, back to back, checked against the reference (the area and the opened zone as
shapes with what stays open), with the same target. Then 50 vehicles with equivalent passes
ask the same: the customised metrics are keyed by what stays closed, not by pass, so their
number must not grow.

    python benchmarks/bench_routes.py [--pairs 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import shapely
from shapely.geometry import LineString, Point, box, mapping, shape
from shapely.ops import unary_union

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat.cityconfig import RoadFeature, ZoneFeature, load_city  # noqa: E402
from hazmat.events import Pass, RouteRequest, decode  # noqa: E402
from hazmat.passes import PassBook  # noqa: E402
from hazmat.routing import graph as road_graph  # noqa: E402
from hazmat.routing import tdsearch  # noqa: E402
from hazmat.routing.openings import route_key  # noqa: E402
from hazmat.routing.policy import Load  # noqa: E402
from hazmat.routing.router import Router  # noqa: E402
from hazmat.routing.zones import load_zones  # noqa: E402
from tests.routing.reference import Reference  # noqa: E402

#: how far (degrees, each way) a requested point lies from the node it is drawn near
JITTER = 0.0015


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-valhalla", action="store_true", help="skip the Valhalla comparison")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    city = load_city("harbin")
    t = time.perf_counter()
    graph = road_graph.load(city)
    print(
        f"graph: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges, loaded in {time.perf_counter() - t:.2f} s"
    )
    t = time.perf_counter()
    router = Router(graph, city)
    print(f"router ready in {time.perf_counter() - t:.2f} s")
    nodes = [(d["x"], d["y"]) for _, d in graph.nodes(data=True)]
    features = []
    for k in range(10):  # 10 always-active zones, 0.5–1.5 km across
        cx, cy = rng.choice(nodes)
        half = rng.uniform(0.003, 0.009)
        ring = [
            [cx - half, cy - half],
            [cx + half, cy - half],
            [cx + half, cy + half],
            [cx - half, cy + half],
            [cx - half, cy - half],
        ]
        features.append(
            ZoneFeature.model_validate(
                {
                    "type": "Feature",
                    "properties": {"id": f"bz{k}", "kind": "restricted"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
        )
    router.set_zones(load_zones(city, router.projection, features))
    shapes = [box(*f.geometry.coordinates[0][0], *f.geometry.coordinates[0][2]) for f in features]
    load = Load.of(decode(RouteRequest, json.dumps(_body((0, 0), (0, 0)))).load, city.rules.tunnel_codes)
    reference = Reference(
        graph, router.projection, load, router.road_rules, [router.projection.to_metric(s) for s in shapes]
    )

    ours, theirs, diffs, n = [], [], 0, 0
    pairs, lengths, requests, moved = [], [], [], []
    while n < args.pairs:
        o, d = (
            tuple(c + rng.uniform(-JITTER, JITTER) for c in node) for node in rng.sample(nodes, 2)
        )  # near a road, rarely on it
        if any(s.intersects(Point(o)) or s.intersects(Point(d)) for s in shapes):
            continue
        request = decode(RouteRequest, json.dumps(_body(o, d)))
        t0 = time.perf_counter()
        route = router.plan(request)
        t1 = time.perf_counter()
        joins = reference.joins(o, d)  # the reference's own snap (brute force), not timed
        t2 = time.perf_counter()
        ref = None if joins is None else reference.search(joins)
        t3 = time.perf_counter()
        ours.append((t1 - t0) * 1000)
        theirs.append((t3 - t2) * 1000)
        pairs.append((o, d))
        requests.append(request)
        lengths.append(route.length_m if route.status == "ok" else None)
        moved += [m for m in (route.origin_snap_m, route.destination_snap_m) if m is not None]
        if (route.status == "ok") != (ref is not None) or (ref is not None and abs(route.duration_s - ref) > 0.2):
            diffs += 1
            print(f"differs: {o} → {d}: ours {route.status} {route.duration_s}, reference {ref}")
        n += 1
    warm = []
    for request in requests:
        t0 = time.perf_counter()
        router.plan(request)
        warm.append((time.perf_counter() - t0) * 1000)
    print(
        f"\n{args.pairs} random pairs near the roads, 10 active zones, optimize=time; ends moved onto the road: "
        f"median {statistics.median(moved):.0f} m, max {max(moved):.0f} m"
    )
    print(f"{'':44}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for name, values in (
        ("hazmat router, back to back (everything)", warm),
        ("hazmat router, cold caches (after networkx)", ours),
        ("networkx reference dijkstra (search only)", theirs),
    ):
        print(f"{name:44}{pct(values, 50):>9.2f}{pct(values, 95):>9.2f}{statistics.mean(values):>9.2f}")
    if not args.no_valhalla:
        rings = [f.geometry.coordinates[0] for f in features]
        valhalla = run_valhalla(pairs, rings)
        if valhalla:
            ok = [v for v in valhalla if "ms" in v and "error" not in v]
            ms = [v["ms"] for v in valhalla]
            print(
                f"{'valhalla (pyvalhalla 3.9, truck, exclude_polygons)':44}{pct(ms, 50):>9.2f}{pct(ms, 95):>9.2f}{statistics.mean(ms):>9.2f}"
            )
            both = [
                (mine, v["length_m"]) for mine, v in zip(lengths, valhalla, strict=True) if mine and "length_m" in v
            ]
            if both:
                print(
                    f"route length, median over {len(both)} pairs both answered: ours {statistics.median(a for a, _ in both) / 1000:.2f} km, "
                    f"valhalla {statistics.median(b for _, b in both) / 1000:.2f} km (different costing and graph: "
                    f"valhalla truck profile on its own tiles); valhalla answered {len(ok)}/{len(valhalla)}"
                )
            print(
                f"speed-up at p50: {pct(theirs, 50) / pct(warm, 50):.1f}x networkx, {pct(ms, 50) / pct(warm, 50):.1f}x valhalla"
                f" (cold caches: {pct(theirs, 50) / pct(ours, 50):.1f}x, {pct(ms, 50) / pct(ours, 50):.1f}x)"
            )
    print(f"optimal travel time equal to the networkx reference's on {args.pairs - diffs}/{args.pairs} pairs")
    meets = pct(warm, 50) <= 1 and pct(warm, 95) <= 3
    print(f"target p50 ≤ 1 ms, p95 ≤ 3 ms (back to back): {'meets' if meets else 'misses'}")
    diffs += designated_and_pass(router, city, features, shapes, requests, graph)
    switching(router, city, features, requests)
    if diffs:
        raise SystemExit(f"{diffs} pairs disagree with the networkx reference")


def _named_roads(router: Router, frame, *, count: int) -> list[tuple[str, object]]:
    """The ``count`` longest named streets inside ``frame`` (lon/lat), each cut to it: (name, line)."""
    inner = box(*(v + d for v, d in zip(frame.bounds, (2e-6, 2e-6, -2e-6, -2e-6), strict=True)))
    by_name: dict[str, list] = {}
    for data, geom in zip(router.net.data, router.net.lonlat, strict=True):
        name = data.get("name")
        if isinstance(name, str) and geom.intersects(inner):
            by_name.setdefault(name, []).append(geom)
    lines = {n: shapely.line_merge(unary_union(gs).intersection(inner)) for n, gs in by_name.items()}
    ranked = sorted(((n, g) for n, g in lines.items() if g.length > 0), key=lambda ng: -ng[1].length)
    return ranked[:count]


def _as_geojson_line(geom) -> dict:
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "LineString" and len(g.coords) >= 2]
    return {
        "type": "MultiLineString",
        "coordinates": [[[round(x, 7), round(y, 7)] for x, y in g.coords] for g in parts],
    }


def designated_and_pass(router: Router, city, features, shapes, requests: list[RouteRequest], graph) -> int:
    """The same requests with one designated area of 20 roads and a pass opening one zone along a street; back to
    back against the target, checked against the reference; then 50 vehicles with equivalent passes."""
    lons, lats = list(router.net.xs), list(router.net.ys)
    cx, cy = statistics.median(lons), statistics.median(lats)
    frame = box(cx - 0.02, cy - 0.014, cx + 0.02, cy + 0.014)  # about 3 × 3 km
    roads = _named_roads(router, frame, count=20)
    area = ZoneFeature.model_validate(
        {"type": "Feature", "properties": {"id": "da-bench", "kind": "designated_area"}, "geometry": mapping(frame)}
    )
    road_features = [
        RoadFeature.model_validate(
            {
                "type": "Feature",
                "geometry": _as_geojson_line(line),
                "properties": {"id": f"dr-{k}", "kind": "designated_road", "area": "da-bench", "name": name},
            }
        )
        for k, (name, line) in enumerate(roads)
    ]
    # the zone most routes go round, opened along the way one of them takes when it is open (as the police grant
    # a pass for the way a vehicle asks for)
    avoided = {r.request_id + str(n): {a.zone_id for a in router.plan(r).avoided} for n, r in enumerate(requests)}
    zone_id = Counter(z for zs in avoided.values() for z in zs if z).most_common(1)[0][0]
    opened = int(zone_id[2:])
    avoiding = [r for n, r in enumerate(requests) if zone_id in avoided[r.request_id + str(n)]]
    square = shape(features[opened].geometry.model_dump())
    router.set_zones(
        load_zones(city, router.projection, [*(f for k, f in enumerate(features) if k != opened), area, *road_features])
    )
    way = next(
        line.coords[:]
        for r in avoiding
        if (found := router.plan(r)).geometry is not None
        and (line := LineString(found.geometry.coordinates)).intersects(square)
    )
    granted = decode(
        Pass,
        json.dumps({
            "schema_version": 1, "pass_id": "BENCH-1", "plate": "黑A12345", "zone_ids": [f"bz{opened}"],
            "valid_from": "2026-11-26T00:00:00+08:00", "valid_until": "2026-11-27T00:00:00+08:00",
            "route": {"type": "LineString", "coordinates": way},
            "issued_by": "bench", "reason": "bench",
        }),
    )  # fmt: skip
    router.set_zones(load_zones(city, router.projection, [*features, area, *road_features]))
    router.passes = PassBook([granted])
    kept = [r for r in requests if not any(frame.contains(Point(p.lon, p.lat)) for p in (r.origin, r.destination))]
    for request in kept:  # warm: customise the metrics in use once
        router.plan(request)
    times, used = [], 0
    for request in kept:
        t0 = time.perf_counter()
        route = router.plan(request)
        times.append((time.perf_counter() - t0) * 1000)
        used += bool(route.passes_used)
    metrics = len(router.metrics._metrics)
    # the reference: the area and the opened zone as shapes with what stays open
    z = [zone.id for zone in router.zones].index("da-bench")
    o = [zone.id for zone in router.zones].index(f"bz{opened}")
    load = Load.of(requests[0].load, city.rules.tunnel_codes)
    reference = Reference(
        graph, router.projection, load, router.road_rules,
        [router.projection.to_metric(s) for k, s in enumerate(shapes) if k != opened],
        areas=[(router.zones[z].metric, router.zones[z].corridor),
               (router.zones[o].metric, router.open_shapes.allowed(o, frozenset({route_key(granted.route)})))],
    )  # fmt: skip
    diffs = 0
    for request in kept:
        route = router.plan(request)
        ends = (request.origin.lon, request.origin.lat), (request.destination.lon, request.destination.lat)
        ref = reference.route_cost(*ends)
        if (route.status == "ok") != (ref is not None) or (ref is not None and abs(route.duration_s - ref) > 0.2):
            diffs += 1
            print(f"differs (area and pass): {ends}: ours {route.status} {route.duration_s}, reference {ref}")
    others = []
    for k in range(50):  # 50 vehicles, each with a pass like BENCH-1 (its own id and plate)
        plate = f"黑A{70000 + k}"
        router.passes.put(granted.model_copy(update={"pass_id": f"BENCH-{plate}", "plate": plate}))
        others.append(request_for(kept[k % len(kept)], plate))
    for request in others:
        router.plan(request)
    print(
        f"\nwith a designated area ({len(roads)} designated roads, {len(router.zone_edges[z]):,} of its edges closed) and "
        f"a pass opening bz{opened} along a route: {len(kept)} requests (ends outside the area), "
        f"{used} relied on the pass"
    )
    print(f"{'':44}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    print(
        f"{'hazmat router, back to back (everything)':44}{pct(times, 50):>9.2f}{pct(times, 95):>9.2f}{statistics.mean(times):>9.2f}"
    )
    meets = pct(times, 50) <= 1 and pct(times, 95) <= 3
    print(f"target p50 ≤ 1 ms, p95 ≤ 3 ms (back to back): {'meets' if meets else 'misses'}")
    print(f"optimal travel time equal to the reference's on {len(kept) - diffs}/{len(kept)} requests")
    print(
        f"customised metrics: {metrics} after the requests, {len(router.metrics._metrics)} after 50 more vehicles "
        f"with equivalent passes (keyed by what stays closed, not by pass)"
    )
    router.passes = PassBook()
    router.set_zones(load_zones(city, router.projection, features))
    return diffs


def request_for(request: RouteRequest, plate: str) -> RouteRequest:
    return request.model_copy(update={"plate": plate, "request_id": f"bench-{plate[2:]}"})


def switching(router: Router, city, features: list[ZoneFeature], requests: list[RouteRequest]) -> None:
    """The same zones, switching on ten minutes after departure: trips that reach one later need
    the time-dependent search (A* in Python), the slow path; printed for the record."""
    later = []
    for feature in features:
        doc = feature.model_dump(exclude_none=True)
        doc["properties"]["windows"] = [{"start": "10:10", "end": "21:00"}]
        later.append(ZoneFeature.model_validate(doc))
    router.set_zones(load_zones(city, router.projection, later))
    searches = 0
    search = tdsearch.search

    def counted(*args, **kwargs):
        nonlocal searches
        searches += 1
        return search(*args, **kwargs)

    tdsearch.search = counted  # type: ignore[assignment]  # counted for this pass only
    times = []
    try:
        for request in requests:
            t0 = time.perf_counter()
            router.plan(request)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        tdsearch.search = search
    print(
        f"\nzones switching on 10 min after departure: p50 {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms; "
        f"{searches}/{len(requests)} requests needed the time-dependent search"
    )


VALHALLA_VENV = Path.home() / ".cache" / "hazmat-checker" / "valhalla-venv"
PBF = REPO / "config" / "cities" / "harbin" / "harbin_center.osm.pbf"


def run_valhalla(pairs: list, rings: list) -> list[dict] | None:
    """Time Valhalla on the same pairs and zones, in its own Python 3.12 venv (made on first use)."""
    python = VALHALLA_VENV / "bin" / "python"
    if not python.exists():
        versions = sorted(p.name for p in (Path.home() / ".pyenv" / "versions").glob("3.12*"))
        env = {**os.environ, **({"PYENV_VERSION": versions[-1]} if versions else {})}
        try:
            subprocess.run(["python3.12", "-m", "venv", str(VALHALLA_VENV)], check=True, env=env)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "pyvalhalla"], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"valhalla: skipped, no Python 3.12 venv with pyvalhalla ({exc})")
            return None
    work = VALHALLA_VENV.parent / "valhalla-harbin"
    work.mkdir(parents=True, exist_ok=True)
    warm = [pairs[0]]  # the first request loads tiles: time it, then drop it
    (work / "pairs.json").write_text(json.dumps({"pairs": warm + pairs, "zones": rings}), encoding="utf-8")
    subprocess.run(
        [
            str(python),
            str(REPO / "benchmarks" / "valhalla_side.py"),
            str(PBF),
            str(work),
            str(work / "pairs.json"),
            str(work / "out.json"),
        ],
        check=True,
    )
    return json.loads((work / "out.json").read_text(encoding="utf-8"))[1:]


def _body(o, d) -> dict:
    return {
        "schema_version": 1, "request_id": "bench", "plate": "黑A12345",
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 20000}],
        "origin": {"lon": o[0], "lat": o[1]}, "destination": {"lon": d[0], "lat": d[1]},
        "depart_at": "2026-11-26T10:00:00+08:00",
    }  # fmt: skip


if __name__ == "__main__":
    main()
