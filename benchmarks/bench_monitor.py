"""Position pings evaluated per second on one core: 50 zones, 1,000 live routes (issue: monitoring).

Each ping runs the monitor's full check (zone index query with window and ``applies_to``
evaluation, corridor test against the vehicle's issued route, unchecked-movement and speed
rules with Harbin's 2,380 motorway/trunk edges as the fast roads, state update, alerts). The baseline in the same run is the naive geofence a first
version would write: test the ping against every zone polygon and measure the distance to
the route line without a prepared geometry. Target: ≥ 50,000 pings/s.

    python benchmarks/bench_monitor.py [--pings 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from shapely.geometry import LineString, Point

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat.cityconfig import ZoneFeature, load_city  # noqa: E402
from hazmat.events import Position  # noqa: E402
from hazmat.monitor.geofence import Geofence  # noqa: E402
from hazmat.monitor.judge import MonitorSettings, judge_position  # noqa: E402
from hazmat.monitor.state import LoadInfo, VehicleState  # noqa: E402
from hazmat.routing import graph as road_graph  # noqa: E402
from hazmat.routing.geo import Projection  # noqa: E402
from hazmat.routing.graph import FAST_ROADS, edge_geometry, first_value  # noqa: E402
from hazmat.routing.zones import load_zones  # noqa: E402

WEST, SOUTH, EAST, NORTH = 126.51, 45.66, 126.77, 45.83  # central Harbin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(args.seed)
    city = load_city("harbin")
    projection = Projection.around((WEST + EAST) / 2, (SOUTH + NORTH) / 2)
    features = []
    for k in range(50):
        x, y, half = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH), rng.uniform(0.002, 0.01)
        ring = [
            [x - half, y - half],
            [x + half, y - half],
            [x + half, y + half],
            [x - half, y + half],
            [x - half, y - half],
        ]
        props = {"id": f"z{k}", "kind": rng.choice(["water_source", "restricted", "closure"])}
        if k % 3 == 0:
            props["windows"] = [{"start": "07:00", "end": "21:00"}]
        features.append(
            ZoneFeature.model_validate(
                {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}
            )
        )
    zones = load_zones(city, projection, features)
    graph = road_graph.load(city)
    fast = [
        projection.to_metric(edge_geometry(graph, a, b, d))
        for a, b, d in graph.edges(data=True)
        if first_value(d.get("highway")) in FAST_ROADS
    ]
    fence = Geofence(zones, projection, fast_roads=fast)  # as the worker builds it: Harbin's motorways and trunks
    routes = {}
    for v in range(1000):
        pts = [(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH))]
        for _ in range(30):
            pts.append((pts[-1][0] + rng.uniform(-0.004, 0.004), pts[-1][1] + rng.uniform(-0.003, 0.003)))
        routes[f"黑A{v:05d}"] = {"route_id": f"rt-{v}", "coordinates": pts}
    plates = list(routes)
    start = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
    load = LoadInfo(decided_at_s=start.timestamp() - 600, classes=("2.3",), un_numbers=("UN1005",))
    pings = []
    for i in range(args.pings):
        plate = plates[i % len(plates)]
        coords = routes[plate]["coordinates"]
        lon, lat = coords[(i // len(plates)) % len(coords)]
        pings.append(
            Position(
                schema_version=1,
                event_id=f"p{i}",
                plate=plate,
                at=start + timedelta(seconds=i // 100),
                lon=lon + rng.uniform(-0.002, 0.002),
                lat=lat,
                speed_kmh=rng.uniform(20, 70),
            )
        )
    settings = MonitorSettings()
    states = {p: VehicleState(plate=p) for p in plates}
    for p in pings[:2000]:  # warm the corridor cache
        fence.off_route_m(routes[p.plate]["route_id"], routes[p.plate]["coordinates"], *fence.xy(p.lon, p.lat), 200.0)

    t = time.perf_counter()
    alerts = 0
    for p in pings:
        states[p.plate], new = judge_position(p, states[p.plate], load, routes[p.plate], fence, settings)
        alerts += len(new)
    ours = len(pings) / (time.perf_counter() - t)

    naive_n = min(len(pings), 10_000)
    lines = {plate: projection.to_metric(LineString(r["coordinates"])) for plate, r in routes.items()}
    t = time.perf_counter()
    for p in pings[:naive_n]:
        point = Point(fence.xy(p.lon, p.lat))
        _inside = [z for z in zones if z.active(p.at) and z.metric.intersects(point)]
        _off = lines[p.plate].distance(point) > settings.corridor_m
    naive = naive_n / (time.perf_counter() - t)

    print(f"{len(pings):,} pings, 50 zones, {len(routes):,} live routes, 1 core; {alerts:,} alerts raised or cleared")
    print(f"{'':44}{'pings/s':>12}{'µs each':>10}")
    print(f"{'baseline: scan every zone, plain distance':44}{naive:>12,.0f}{1e6 / naive:>10.1f}")
    print(f"{'monitor.judge_position (index, prepared)':44}{ours:>12,.0f}{1e6 / ours:>10.1f}")
    print(f"target ≥ 50,000 pings/s: {'meets' if ours >= 50_000 else 'misses'} ({ours / 50_000:.2f}× target)")


if __name__ == "__main__":
    main()
