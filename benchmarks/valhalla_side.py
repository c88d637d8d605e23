"""The Valhalla side of bench_routes.py: runs in its own Python 3.12 venv (pyvalhalla's wheels need it).

Builds Valhalla tiles from the same OSM extract once, then routes the pairs it is given with
truck costing and the same zones as ``exclude_polygons``, timing each request. Reads and
writes JSON files; imports nothing of the project.

    python valhalla_side.py EXTRACT.pbf WORKDIR PAIRS.json RESULTS.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import valhalla
from valhalla import Actor, get_config


def main() -> None:
    pbf, work, pairs_file, out_file = (Path(a) for a in sys.argv[1:5])
    tiles = work / "tiles"
    tiles.mkdir(parents=True, exist_ok=True)
    config = get_config(tile_extract="", tile_dir=tiles)
    # the default (10 km of polygon perimeter) refuses zones of city size
    config["service_limits"]["max_exclude_polygons_length"] = 10_000_000
    config_file = work / "valhalla.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    if not any(tiles.rglob("*.gph")):
        started = time.perf_counter()
        build = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"
        subprocess.run([str(build), "-c", str(config_file), str(pbf)], check=True, capture_output=True)
        print(f"valhalla tiles built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    actor = Actor(str(config_file))
    job = json.loads(pairs_file.read_text(encoding="utf-8"))
    results = []
    for origin, destination in job["pairs"]:
        request = {
            "locations": [{"lon": origin[0], "lat": origin[1]}, {"lon": destination[0], "lat": destination[1]}],
            "costing": "truck",
            "exclude_polygons": job["zones"],
            "units": "kilometers",
        }
        started = time.perf_counter()
        try:
            answer = actor.route(json.dumps(request))
            ms = (time.perf_counter() - started) * 1000
            summary = (json.loads(answer) if isinstance(answer, str) else answer)["trip"]["summary"]
            results.append({"ms": ms, "length_m": summary["length"] * 1000, "duration_s": summary["time"]})
        except Exception as exc:  # no route, or a request Valhalla refuses
            results.append({"ms": (time.perf_counter() - started) * 1000, "error": str(exc)[:200]})
    out_file.write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main()
