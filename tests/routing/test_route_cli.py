"""``hazmat route`` and ``hazmat graph build`` as cli.md says: outputs, files and exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hazmat import cli
from tests.routing_helpers import CHENGDU

runner = CliRunner()
A, B = "104.0600,30.6700", "104.1100,30.7100"


def run(*args: str):
    return runner.invoke(cli.app, list(args))


def test_route_ok_writes_geojson_and_map(tmp_path, chengdu_graph):
    result = run(
        "route", "--config", str(CHENGDU), "--from", A, "--to", B, "--at", "2026-11-26T10:00:00+08:00",
        "--un", "UN1203", "--class", "3", "--optimize", "distance",
        "--geojson", str(tmp_path / "r.geojson"), "--map", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    route = json.loads(result.stdout)
    assert route["status"] == "ok"
    assert route["length_m"] > 1000
    assert (
        json.loads((tmp_path / "r.geojson").read_text(encoding="utf-8"))["features"][0]["properties"]["kind"] == "route"
    )
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_route_no_permitted_route_exits_3(tmp_path, chengdu_graph):
    city = tmp_path / "city"
    city.mkdir()
    for name in ("city.yaml", "rules.yaml", "blacklist.yaml"):
        (city / name).write_text((CHENGDU / name).read_text(encoding="utf-8"), encoding="utf-8")
    (city / "city.yaml").write_text(
        (CHENGDU / "city.yaml").read_text(encoding="utf-8").replace("../../osm/", f"{CHENGDU.parent.parent}/osm/"),
        encoding="utf-8",
    )
    ring = [[104.055, 30.665], [104.065, 30.665], [104.065, 30.675], [104.055, 30.675], [104.055, 30.665]]
    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "ws-a", "kind": "water_source"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    (city / "zones.geojson").write_text(json.dumps(zones), encoding="utf-8")
    result = run("route", "--config", str(city), "--from", A, "--to", B, "--json")
    assert result.exit_code == 3, result.output
    route = json.loads(result.stdout)
    assert route["status"] == "no_permitted_route"
    assert route["blocked_by"][0]["zone_id"] == "ws-a"


def test_route_bad_input_exits_2():
    assert run("route", "--config", str(CHENGDU), "--from", "nowhere", "--to", B).exit_code == 2
    assert run("route", "--config", str(CHENGDU), "--from", A, "--to", B, "--un", "UN1005").exit_code == 2
    outside = run("route", "--config", str(CHENGDU), "--from", "100.0,30.0", "--to", B, "--json")
    assert outside.exit_code == 2
    assert json.loads(outside.stdout)["status"] == "outside_map"


def test_graph_build_reports_its_size(chengdu_graph):
    result = run("graph", "build", "--config", str(CHENGDU), "--no-rebuild")
    assert result.exit_code == 0, result.output
    assert "nodes" in result.stderr
    assert "edges" in result.stderr


def test_a_city_without_a_local_extract_says_what_to_do():
    result = run("route", "--config", "datong", "--from", A, "--to", B)
    assert result.exit_code == 1
    assert "graph.source is 'place'" in result.stderr
